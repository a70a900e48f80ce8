mod wit_gen;
fn main() {}
