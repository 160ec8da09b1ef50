//! `wire_enum!`: one-octet enumerations with a stable value and a text name.

/// Defines a one-octet enumeration: stable wire value, lower-case text name, `read` that
/// rejects undefined values with `Error::BadValue { field, .. }`, and `Display` as the name.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $field:literal {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal, $text:literal;)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// Wire value.
            pub const fn value(self) -> u8 {
                match self {
                    $($name::$variant => $value,)*
                }
            }

            /// From a wire value; `None` if undefined.
            pub const fn from_value(value: u8) -> Option<Self> {
                match value {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Text name (the request syntax of [`crate::service::text`]).
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// From a text name (ASCII case-insensitive); `None` if unknown.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(name))
            }

            /// Reads one octet, rejecting undefined values.
            #[allow(dead_code)]
            pub(crate) fn read(
                r: &mut $crate::service::wire::Reader<'_>,
            ) -> Result<Self, $crate::service::Error> {
                let v = r.u8()?;
                Self::from_value(v)
                    .ok_or($crate::service::Error::BadValue { field: $field, value: v as u32 })
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
