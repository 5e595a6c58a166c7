// The library's version: the one place it is written down (task files record it, `sparse-tune --version` prints it).

/// The version of this package.
public enum SparseTuningVersion {
    /// The version string, `MAJOR.MINOR.PATCH`.
    public static let string = "0.9.0"
}
