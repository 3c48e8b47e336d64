fn main() {
    println!("chia-pool {}", env!("CARGO_PKG_VERSION"));
}
