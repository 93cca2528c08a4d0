//! A small, seedable generator (SplitMix64): arrival schedules and bootstrap resamples are
//! reproducible from the seed alone.

#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1], so its logarithm is finite.
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller, from two uniforms in (0, 1]).
    pub fn next_normal(&mut self) -> f64 {
        let (u, v) = (self.next_open01(), self.next_open01());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A Gamma(`shape`, 1) draw (Marsaglia and Tsang's method; below shape 1, a draw of
    /// shape + 1 scaled by U^(1/shape)). `shape` > 0.
    pub fn next_gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let boost = self.next_open01().powf(1.0 / shape);
            return self.next_gamma(shape + 1.0) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let z = self.next_normal();
            let v = (1.0 + c * z).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.next_open01();
            if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is below 2^-40 for the sizes used here.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn gamma_draws_have_the_mean_and_variance_of_their_shape() {
        for shape in [0.25, 0.5, 1.0, 4.0] {
            let mut rng = SplitMix64(11);
            let n = 200_000;
            let draws: Vec<f64> = (0..n).map(|_| rng.next_gamma(shape)).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            // Gamma(k, 1): mean k, variance k; a few standard errors of slack.
            assert!(
                (mean - shape).abs() < 0.02 * shape.max(1.0),
                "{shape}: mean {mean}"
            );
            assert!(
                (var - shape).abs() < 0.08 * shape.max(1.0),
                "{shape}: var {var}"
            );
            assert!(draws.iter().all(|&x| x > 0.0));
        }
    }
}
