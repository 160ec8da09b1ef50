//! COP-1 (CCSDS 232.1-B-2): CLCW, FARM-1 and FOP-1 (being written).
