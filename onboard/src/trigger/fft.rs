//! Radix-2 complex FFT, one- and two-dimensional, fixed size, no heap (being written).
