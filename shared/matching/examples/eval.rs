//! Prints mean NDCG@10 of the matcher and baselines on the labelled set.
//!
//! ```text
//! cargo run -p nexus-matching --example eval            # report
//! cargo run -p nexus-matching --example eval -- --json  # the set itself, as JSON
//! cargo run -p nexus-matching --example eval -- --seed 7 --per-campaign
//! ```

use nexus_matching::eval::{self, EvalSet};
use nexus_matching::LocalHashingVectoriser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = match args.iter().position(|a| a == "--seed") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--seed needs a value")?
            .parse::<u64>()?,
        None => eval::DEFAULT_SEED,
    };
    let set: EvalSet = eval::generate(seed, eval::DEFAULT_CAMPAIGNS, eval::DEFAULT_CANDIDATES);
    if args.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&set)?);
        return Ok(());
    }
    let k = 10;
    let report = eval::evaluate(&set, &LocalHashingVectoriser::default(), k).await?;
    let candidates: usize = set.campaigns.iter().map(|c| c.candidates.len()).sum();
    println!(
        "{} campaigns, {candidates} labelled candidates, seed {seed}, embedder {}",
        set.campaigns.len(),
        report.embedder
    );
    println!("mean NDCG@{k}");
    for (name, v) in [
        ("matcher (rank)", report.ours),
        ("embedding cosine only", report.embedding_only),
        ("niche overlap only", report.niche_only),
        ("reputation only", report.reputation_only),
        ("random (mean of shuffles)", report.random),
    ] {
        println!("  {name:<26} {v:.3}");
    }
    if args.iter().any(|a| a == "--per-campaign") {
        println!("\ncampaign  labels[0,1,2,3]      ours  reputation  random");
        for c in &report.per_campaign {
            println!(
                "{:<9} {:<20} {:.3}  {:.3}       {:.3}",
                c.campaign_id,
                format!("{:?}", c.label_counts),
                c.ours,
                c.reputation_only,
                c.random
            );
        }
    }
    Ok(())
}
