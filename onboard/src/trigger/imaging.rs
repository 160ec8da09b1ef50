//! Coded-mask imaging: shadowgram to sky image, variance and SNR maps, peak search (being written).
