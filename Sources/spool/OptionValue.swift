extension Double {
    /// The number as people type it, for "got ..." in option errors: `-1` rather than `-1.0`.
    var argumentText: String {
        isFinite && self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
