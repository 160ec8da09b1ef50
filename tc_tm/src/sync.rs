//! PLACEHOLDER: ASM search and CADU resynchronisation (being written).
