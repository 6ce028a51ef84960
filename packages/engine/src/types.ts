/**
 * Commands and events: the engine's whole vocabulary.
 *
 * Prices are integers in ticks' units (the market's price unit), quantities are
 * integers in the market's quantity unit; both must be multiples of tick size and
 * lot size. Nothing here is floating point.
 */

export type Side = "buy" | "sell";
export type OrderType = "limit" | "market";
export type TimeInForce = "GTC" | "IOC" | "FOK" | "GTD";
/** Self-trade prevention: what happens when an order would trade with its own account. */
export type StpMode = "none" | "cancel_taker" | "cancel_maker" | "cancel_both" | "decrement";
export type MarketState = "open" | "halted";
export type OrderStatus = "new" | "open" | "partially_filled" | "filled" | "cancelled" | "rejected" | "expired";

export const SIDES: readonly Side[] = ["buy", "sell"];
export const ORDER_TYPES: readonly OrderType[] = ["limit", "market"];
export const TIFS: readonly TimeInForce[] = ["GTC", "IOC", "FOK", "GTD"];
export const STP_MODES: readonly StpMode[] = ["none", "cancel_taker", "cancel_maker", "cancel_both", "decrement"];
export const MARKET_STATES: readonly MarketState[] = ["open", "halted"];

/** A market's static rules, set by a `market` command. */
export interface MarketSpec {
  symbol: string;
  tickSize: number;
  lotSize: number;
  minQty: number;
  maxQty: number;
  /** Reference price for the band; a multiple of tickSize. */
  refPrice: number;
  /** Band half-width in basis points of refPrice (1000 = 10%). */
  bandBps: number;
  state: MarketState;
}

interface CommandBase {
  /** Idempotency key, unique per command (also the JetStream Nats-Msg-Id). */
  cmdId: string;
  account: string;
}

export interface PlaceCommand extends CommandBase {
  kind: "place";
  market: string;
  side: Side;
  type: OrderType;
  /** Limit price; required for limit orders, absent for market orders. */
  price?: number;
  qty: number;
  tif: TimeInForce;
  /** Log time (ms) at which a GTD order expires. */
  expireAt?: number;
  postOnly?: boolean;
  stp?: StpMode;
  /** Worst price a market order may trade at; defaults to the band edge. */
  protectionPrice?: number;
}

export interface CancelCommand extends CommandBase {
  kind: "cancel";
  market: string;
  orderId: number;
}

export interface AmendCommand extends CommandBase {
  kind: "amend";
  market: string;
  orderId: number;
  /** New price; a change loses time priority. */
  price?: number;
  /** New open (remaining) quantity; down keeps priority, up loses it. */
  qty?: number;
}

export interface CancelAllCommand extends CommandBase {
  kind: "cancelAll";
  /** Only this market; every market of the partition when absent. */
  market?: string;
}

/** Administrative: create or update a market (and open or halt it). */
export interface MarketCommand extends CommandBase, MarketSpec {
  kind: "market";
}

/** Administrative: lets log time pass so GTD orders expire without other traffic. */
export interface TickCommand extends CommandBase {
  kind: "tick";
}

/** Read-only; served by `PartitionEngine.query`, never written to the command log. */
export interface QueryCommand extends CommandBase {
  kind: "query";
  market: string;
  orderId: number;
}

export type Command =
  | PlaceCommand
  | CancelCommand
  | AmendCommand
  | CancelAllCommand
  | MarketCommand
  | TickCommand;

export type AnyCommand = Command | QueryCommand;
export type CommandKind = AnyCommand["kind"];

/** Fields every sequenced event carries so consumers detect gaps. */
export interface EventHeader {
  partition: number;
  /** Per-partition output sequence, 1-based, gap-free. */
  seq: number;
  /** Input (command log) sequence of the command that caused this event. */
  inSeq: number;
  /** Log time (ms) of that command. */
  ts: number;
}

export interface AcceptedEvent extends EventHeader {
  type: "accepted";
  cmdId: string;
  account: string;
  market: string;
  orderId: number;
  side: Side;
  orderType: OrderType;
  /** Limit price, or the protection price of a market order. */
  price: number;
  qty: number;
  tif: TimeInForce;
}

export interface RejectedEvent extends EventHeader {
  type: "rejected";
  cmdId: string;
  account: string;
  market: string;
  /** The order the command named, or 0. */
  orderId: number;
  code: RejectCode;
  message: string;
}

export interface TradeEvent extends EventHeader {
  type: "trade";
  market: string;
  /** Per-partition trade sequence. */
  tradeId: number;
  price: number;
  qty: number;
  takerSide: Side;
  maker: number;
  makerAccount: string;
  makerRemaining: number;
  taker: number;
  takerAccount: string;
  takerRemaining: number;
}

export type CancelReason =
  | "user"
  | "cancel_all"
  | "ioc_remainder"
  | "fok_unfillable"
  | "self_trade";

export interface CancelledEvent extends EventHeader {
  type: "cancelled";
  cmdId: string;
  account: string;
  market: string;
  orderId: number;
  /** Open quantity that was cancelled. */
  remaining: number;
  reason: CancelReason;
}

export interface AmendedEvent extends EventHeader {
  type: "amended";
  cmdId: string;
  account: string;
  market: string;
  orderId: number;
  price: number;
  /** New open quantity. */
  remaining: number;
  priorityKept: boolean;
}

export interface ExpiredEvent extends EventHeader {
  type: "expired";
  account: string;
  market: string;
  orderId: number;
  remaining: number;
}

/** A repeated cmdId: no effect, the original outcome is restated. */
export interface DuplicateEvent extends EventHeader {
  type: "duplicate";
  cmdId: string;
  account: string;
  original: Outcome;
}

/** Market data: the new total quantity at one price level (0 = level gone). */
export interface L2Event extends EventHeader {
  type: "l2";
  market: string;
  side: Side;
  price: number;
  qty: number;
}

export interface MarketEvent extends EventHeader {
  type: "market";
  cmdId: string;
  spec: MarketSpec;
}

export type EngineEvent =
  | AcceptedEvent
  | RejectedEvent
  | TradeEvent
  | CancelledEvent
  | AmendedEvent
  | ExpiredEvent
  | DuplicateEvent
  | L2Event
  | MarketEvent;

export type EventType = EngineEvent["type"];

/** What a command did, remembered per cmdId for idempotency. */
export interface Outcome {
  result: "accepted" | "rejected" | "done";
  orderId: number;
  code?: RejectCode;
}

export type RejectCode =
  // shape (codec)
  | "malformed"
  | "unknown_kind"
  | "missing_field"
  | "unknown_field"
  | "invalid_type"
  | "invalid_value"
  | "too_long"
  // market rules
  | "unknown_market"
  | "market_halted"
  | "wrong_partition"
  | "invalid_tick"
  | "invalid_lot"
  | "qty_below_min"
  | "qty_above_max"
  | "price_out_of_band"
  | "expire_in_past"
  // order state
  | "unknown_order"
  | "not_owner"
  | "not_authorized"
  | "order_not_open"
  | "post_only_would_take"
  | "no_change"
  // supervision
  | "internal_error";

/** Read-only view of an order, as returned by queries. */
export interface OrderView {
  orderId: number;
  cmdId: string;
  account: string;
  market: string;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
  price: number;
  /** Original quantity plus later amendments: filled + remaining. */
  qty: number;
  filled: number;
  remaining: number;
  status: OrderStatus;
  expireAt: number;
}
