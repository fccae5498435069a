import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SellPrice(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELL_PRICE_UNSPECIFIED: _ClassVar[SellPrice]
    SELL_PRICE_MEAN_CLOSE: _ClassVar[SellPrice]
    SELL_PRICE_BEST_CLOSE: _ClassVar[SellPrice]
    SELL_PRICE_WORST_CLOSE: _ClassVar[SellPrice]
    SELL_PRICE_LATEST_CLOSE: _ClassVar[SellPrice]
SELL_PRICE_UNSPECIFIED: SellPrice
SELL_PRICE_MEAN_CLOSE: SellPrice
SELL_PRICE_BEST_CLOSE: SellPrice
SELL_PRICE_WORST_CLOSE: SellPrice
SELL_PRICE_LATEST_CLOSE: SellPrice

class AskLamboRequest(_message.Message):
    __slots__ = ("symbol", "investment_usd", "lambo_price_usd", "sell", "exchange")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    INVESTMENT_USD_FIELD_NUMBER: _ClassVar[int]
    LAMBO_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    SELL_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    investment_usd: float
    lambo_price_usd: float
    sell: SellPrice
    exchange: str
    def __init__(self, symbol: _Optional[str] = ..., investment_usd: _Optional[float] = ..., lambo_price_usd: _Optional[float] = ..., sell: _Optional[_Union[SellPrice, str]] = ..., exchange: _Optional[str] = ...) -> None: ...

class ExchangeListing(_message.Message):
    __slots__ = ("exchange", "pair", "quote", "source", "listing_date", "listing_price_usd", "listing_day_volume_usd")
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PAIR_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LISTING_DATE_FIELD_NUMBER: _ClassVar[int]
    LISTING_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    LISTING_DAY_VOLUME_USD_FIELD_NUMBER: _ClassVar[int]
    exchange: str
    pair: str
    quote: str
    source: str
    listing_date: _timestamp_pb2.Timestamp
    listing_price_usd: float
    listing_day_volume_usd: float
    def __init__(self, exchange: _Optional[str] = ..., pair: _Optional[str] = ..., quote: _Optional[str] = ..., source: _Optional[str] = ..., listing_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., listing_price_usd: _Optional[float] = ..., listing_day_volume_usd: _Optional[float] = ...) -> None: ...

class LastMonth(_message.Message):
    __slots__ = ("start", "end", "mean_close", "best_close", "worst_close", "latest_close", "candles", "missing_days")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    MEAN_CLOSE_FIELD_NUMBER: _ClassVar[int]
    BEST_CLOSE_FIELD_NUMBER: _ClassVar[int]
    WORST_CLOSE_FIELD_NUMBER: _ClassVar[int]
    LATEST_CLOSE_FIELD_NUMBER: _ClassVar[int]
    CANDLES_FIELD_NUMBER: _ClassVar[int]
    MISSING_DAYS_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    mean_close: float
    best_close: float
    worst_close: float
    latest_close: float
    candles: int
    missing_days: int
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mean_close: _Optional[float] = ..., best_close: _Optional[float] = ..., worst_close: _Optional[float] = ..., latest_close: _Optional[float] = ..., candles: _Optional[int] = ..., missing_days: _Optional[int] = ...) -> None: ...

class AskLamboResponse(_message.Message):
    __slots__ = ("symbol", "exchange", "pair", "listing_date", "listing_price_usd", "coins_bought", "sell_price_usd", "last_month", "proceeds_usd", "profit_usd", "growth_factor", "lambo_price_usd", "lambos", "can_buy_lambo", "breakeven_investment_usd", "as_of", "computed_at", "stale", "verdict", "sell", "listing_interval_minutes", "sample_data", "listing_quote", "listing_source", "listing_complete", "price_exchange", "price_pair", "listings", "hindsight")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PAIR_FIELD_NUMBER: _ClassVar[int]
    LISTING_DATE_FIELD_NUMBER: _ClassVar[int]
    LISTING_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    COINS_BOUGHT_FIELD_NUMBER: _ClassVar[int]
    SELL_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    LAST_MONTH_FIELD_NUMBER: _ClassVar[int]
    PROCEEDS_USD_FIELD_NUMBER: _ClassVar[int]
    PROFIT_USD_FIELD_NUMBER: _ClassVar[int]
    GROWTH_FACTOR_FIELD_NUMBER: _ClassVar[int]
    LAMBO_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    LAMBOS_FIELD_NUMBER: _ClassVar[int]
    CAN_BUY_LAMBO_FIELD_NUMBER: _ClassVar[int]
    BREAKEVEN_INVESTMENT_USD_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    SELL_FIELD_NUMBER: _ClassVar[int]
    LISTING_INTERVAL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATA_FIELD_NUMBER: _ClassVar[int]
    LISTING_QUOTE_FIELD_NUMBER: _ClassVar[int]
    LISTING_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LISTING_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    PRICE_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PRICE_PAIR_FIELD_NUMBER: _ClassVar[int]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    HINDSIGHT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    exchange: str
    pair: str
    listing_date: _timestamp_pb2.Timestamp
    listing_price_usd: float
    coins_bought: float
    sell_price_usd: float
    last_month: LastMonth
    proceeds_usd: float
    profit_usd: float
    growth_factor: float
    lambo_price_usd: float
    lambos: float
    can_buy_lambo: bool
    breakeven_investment_usd: float
    as_of: _timestamp_pb2.Timestamp
    computed_at: _timestamp_pb2.Timestamp
    stale: bool
    verdict: str
    sell: SellPrice
    listing_interval_minutes: int
    sample_data: bool
    listing_quote: str
    listing_source: str
    listing_complete: bool
    price_exchange: str
    price_pair: str
    listings: _containers.RepeatedCompositeFieldContainer[ExchangeListing]
    hindsight: Hindsight
    def __init__(self, symbol: _Optional[str] = ..., exchange: _Optional[str] = ..., pair: _Optional[str] = ..., listing_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., listing_price_usd: _Optional[float] = ..., coins_bought: _Optional[float] = ..., sell_price_usd: _Optional[float] = ..., last_month: _Optional[_Union[LastMonth, _Mapping]] = ..., proceeds_usd: _Optional[float] = ..., profit_usd: _Optional[float] = ..., growth_factor: _Optional[float] = ..., lambo_price_usd: _Optional[float] = ..., lambos: _Optional[float] = ..., can_buy_lambo: _Optional[bool] = ..., breakeven_investment_usd: _Optional[float] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stale: _Optional[bool] = ..., verdict: _Optional[str] = ..., sell: _Optional[_Union[SellPrice, str]] = ..., listing_interval_minutes: _Optional[int] = ..., sample_data: _Optional[bool] = ..., listing_quote: _Optional[str] = ..., listing_source: _Optional[str] = ..., listing_complete: _Optional[bool] = ..., price_exchange: _Optional[str] = ..., price_pair: _Optional[str] = ..., listings: _Optional[_Iterable[_Union[ExchangeListing, _Mapping]]] = ..., hindsight: _Optional[_Union[Hindsight, _Mapping]] = ...) -> None: ...

class Hindsight(_message.Message):
    __slots__ = ("first_lambo_date", "has_first_lambo", "days_to_first_lambo", "first_lambo_lost", "peak_date", "peak_close_usd", "peak_proceeds_usd", "peak_lambos", "cagr", "years_held", "story")
    FIRST_LAMBO_DATE_FIELD_NUMBER: _ClassVar[int]
    HAS_FIRST_LAMBO_FIELD_NUMBER: _ClassVar[int]
    DAYS_TO_FIRST_LAMBO_FIELD_NUMBER: _ClassVar[int]
    FIRST_LAMBO_LOST_FIELD_NUMBER: _ClassVar[int]
    PEAK_DATE_FIELD_NUMBER: _ClassVar[int]
    PEAK_CLOSE_USD_FIELD_NUMBER: _ClassVar[int]
    PEAK_PROCEEDS_USD_FIELD_NUMBER: _ClassVar[int]
    PEAK_LAMBOS_FIELD_NUMBER: _ClassVar[int]
    CAGR_FIELD_NUMBER: _ClassVar[int]
    YEARS_HELD_FIELD_NUMBER: _ClassVar[int]
    STORY_FIELD_NUMBER: _ClassVar[int]
    first_lambo_date: _timestamp_pb2.Timestamp
    has_first_lambo: bool
    days_to_first_lambo: int
    first_lambo_lost: bool
    peak_date: _timestamp_pb2.Timestamp
    peak_close_usd: float
    peak_proceeds_usd: float
    peak_lambos: float
    cagr: float
    years_held: float
    story: str
    def __init__(self, first_lambo_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., has_first_lambo: _Optional[bool] = ..., days_to_first_lambo: _Optional[int] = ..., first_lambo_lost: _Optional[bool] = ..., peak_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., peak_close_usd: _Optional[float] = ..., peak_proceeds_usd: _Optional[float] = ..., peak_lambos: _Optional[float] = ..., cagr: _Optional[float] = ..., years_held: _Optional[float] = ..., story: _Optional[str] = ...) -> None: ...

class GetCoinRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class PricePoint(_message.Message):
    __slots__ = ("time", "close_usd")
    TIME_FIELD_NUMBER: _ClassVar[int]
    CLOSE_USD_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    close_usd: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., close_usd: _Optional[float] = ...) -> None: ...

class Coin(_message.Message):
    __slots__ = ("symbol", "exchange", "pair", "listing_date", "listing_price_usd", "listing_interval_minutes", "listing_may_be_truncated", "last_month", "as_of", "computed_at", "stale", "history", "sample_data", "listing_quote", "listing_source", "listing_complete", "price_exchange", "price_pair", "listings", "peak")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PAIR_FIELD_NUMBER: _ClassVar[int]
    LISTING_DATE_FIELD_NUMBER: _ClassVar[int]
    LISTING_PRICE_USD_FIELD_NUMBER: _ClassVar[int]
    LISTING_INTERVAL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    LISTING_MAY_BE_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    LAST_MONTH_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATA_FIELD_NUMBER: _ClassVar[int]
    LISTING_QUOTE_FIELD_NUMBER: _ClassVar[int]
    LISTING_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LISTING_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    PRICE_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    PRICE_PAIR_FIELD_NUMBER: _ClassVar[int]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    PEAK_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    exchange: str
    pair: str
    listing_date: _timestamp_pb2.Timestamp
    listing_price_usd: float
    listing_interval_minutes: int
    listing_may_be_truncated: bool
    last_month: LastMonth
    as_of: _timestamp_pb2.Timestamp
    computed_at: _timestamp_pb2.Timestamp
    stale: bool
    history: _containers.RepeatedCompositeFieldContainer[PricePoint]
    sample_data: bool
    listing_quote: str
    listing_source: str
    listing_complete: bool
    price_exchange: str
    price_pair: str
    listings: _containers.RepeatedCompositeFieldContainer[ExchangeListing]
    peak: PricePoint
    def __init__(self, symbol: _Optional[str] = ..., exchange: _Optional[str] = ..., pair: _Optional[str] = ..., listing_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., listing_price_usd: _Optional[float] = ..., listing_interval_minutes: _Optional[int] = ..., listing_may_be_truncated: _Optional[bool] = ..., last_month: _Optional[_Union[LastMonth, _Mapping]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stale: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[PricePoint, _Mapping]]] = ..., sample_data: _Optional[bool] = ..., listing_quote: _Optional[str] = ..., listing_source: _Optional[str] = ..., listing_complete: _Optional[bool] = ..., price_exchange: _Optional[str] = ..., price_pair: _Optional[str] = ..., listings: _Optional[_Iterable[_Union[ExchangeListing, _Mapping]]] = ..., peak: _Optional[_Union[PricePoint, _Mapping]] = ...) -> None: ...

class ListCoinsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CoinSummary(_message.Message):
    __slots__ = ("symbol", "pair", "as_of", "stale", "listing_date", "listing_exchange")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PAIR_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    LISTING_DATE_FIELD_NUMBER: _ClassVar[int]
    LISTING_EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    pair: str
    as_of: _timestamp_pb2.Timestamp
    stale: bool
    listing_date: _timestamp_pb2.Timestamp
    listing_exchange: str
    def __init__(self, symbol: _Optional[str] = ..., pair: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stale: _Optional[bool] = ..., listing_date: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., listing_exchange: _Optional[str] = ...) -> None: ...

class ListCoinsResponse(_message.Message):
    __slots__ = ("coins",)
    COINS_FIELD_NUMBER: _ClassVar[int]
    coins: _containers.RepeatedCompositeFieldContainer[CoinSummary]
    def __init__(self, coins: _Optional[_Iterable[_Union[CoinSummary, _Mapping]]] = ...) -> None: ...
