"""Survey instruments (the study's 15 questions by default) and their answers."""

from codearena.survey.instruments import (
    DEFAULT_INSTRUMENT,
    STUDY_2025,
    Instrument,
    InstrumentError,
    Question,
    get_instrument,
    instrument_from_dict,
    load_instrument_file,
)

__all__ = [
    "DEFAULT_INSTRUMENT",
    "STUDY_2025",
    "Instrument",
    "InstrumentError",
    "Question",
    "get_instrument",
    "instrument_from_dict",
    "load_instrument_file",
]
