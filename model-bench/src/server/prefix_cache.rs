//! The reference LLM server's prefix (KV) cache: a prompt's tokens cut into blocks, each block
//! known by a hash of every token up to its end (as vLLM's automatic prefix caching keys them),
//! a request's cached tokens its leading blocks found, its whole blocks then kept, least
//! recently used first out. Deterministic, so a test can say which request hits what.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use crate::remote::llm::PrefixCache;

/// The blocks held, with when each was last used.
#[derive(Debug)]
pub(crate) struct Blocks {
    config: PrefixCache,
    /// Block key → the tick it was last used at.
    last_use: HashMap<u64, u64>,
    /// Tick → block key, oldest first.
    by_age: BTreeMap<u64, u64>,
    tick: u64,
}

impl Blocks {
    pub fn new(config: PrefixCache) -> Self {
        Blocks {
            config,
            last_use: HashMap::new(),
            by_age: BTreeMap::new(),
            tick: 0,
        }
    }

    /// The request with prompt `tokens`: how many of them the cache held (whole leading
    /// blocks); every whole block of it is then held, as the most recently used.
    pub fn admit(&mut self, tokens: &[&str]) -> u64 {
        let size = self.config.block_tokens.max(1) as usize;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut cached = 0u64;
        let mut hitting = true;
        for block in tokens.chunks_exact(size) {
            block.hash(&mut hasher);
            let key = hasher.finish();
            if hitting && self.last_use.contains_key(&key) {
                cached += size as u64;
            } else {
                hitting = false;
            }
            self.touch(key);
        }
        self.evict();
        cached
    }

    fn touch(&mut self, key: u64) {
        self.tick += 1;
        if let Some(old) = self.last_use.insert(key, self.tick) {
            self.by_age.remove(&old);
        }
        self.by_age.insert(self.tick, key);
    }

    fn evict(&mut self) {
        while self.last_use.len() > self.config.blocks {
            let Some((_, key)) = self.by_age.pop_first() else {
                return;
            };
            self.last_use.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn leading_whole_blocks_hit_and_a_different_start_hits_nothing() {
        let mut cache = Blocks::new(PrefixCache {
            block_tokens: 2,
            blocks: 100,
        });
        assert_eq!(cache.admit(&words("a b c d e")), 0, "cold");
        assert_eq!(
            cache.admit(&words("a b c d e")),
            4,
            "the partial block is not kept"
        );
        assert_eq!(
            cache.admit(&words("a b c x y z")),
            2,
            "up to the first new block"
        );
        assert_eq!(
            cache.admit(&words("z a b c d")),
            0,
            "a block is known by its prefix"
        );
    }

    #[test]
    fn the_least_recently_used_block_goes_first() {
        let mut cache = Blocks::new(PrefixCache {
            block_tokens: 1,
            blocks: 2,
        });
        cache.admit(&words("a"));
        cache.admit(&words("b"));
        cache.admit(&words("a"));
        cache.admit(&words("c"));
        assert_eq!(cache.admit(&words("a")), 1, "used recently: kept");
        assert_eq!(cache.admit(&words("b")), 0, "the oldest: dropped");
    }
}
