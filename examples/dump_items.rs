//! Prints every stored item with its decision and score, one line each (a development aid):
//! `cargo run --example dump_items -- STATE_DIR/db`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: dump_items STATE_DIR/db")?;
    let store = wirewatch::Store::open(std::path::Path::new(&path))?;
    for i in store.items()? {
        let (label, score) = match &i.decision {
            wirewatch::store::Decision::OffTopic { score, .. } => ("off_topic", *score),
            wirewatch::store::Decision::Alert { score, .. } => ("alert", *score),
            d => (d.label(), f32::NAN),
        };
        println!("{label:<15} {score:>6.3}  {}", i.url);
    }
    Ok(())
}
