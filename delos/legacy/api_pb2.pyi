from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class apiRequest(_message.Message):
    __slots__ = ("symbol", "investment")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    INVESTMENT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    investment: int
    def __init__(self, symbol: _Optional[str] = ..., investment: _Optional[int] = ...) -> None: ...

class apiResponse(_message.Message):
    __slots__ = ("message", "graph_data")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    GRAPH_DATA_FIELD_NUMBER: _ClassVar[int]
    message: str
    graph_data: str
    def __init__(self, message: _Optional[str] = ..., graph_data: _Optional[str] = ...) -> None: ...
