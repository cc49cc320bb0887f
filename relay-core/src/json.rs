//! placeholder until the json module lands
pub fn write_str(out: &mut String, s: &str) {
    let _ = (out, s);
    todo!()
}
