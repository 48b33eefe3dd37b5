//! Metrics: rank correlation, cosine similarity, accuracy, and the seeded stratified
//! k-fold splitter used for the classification tasks without a test split.

/// Ranks of `xs` (1-based), ties get the average of the ranks they span (the
/// `scipy.stats.rankdata` "average" method). NaN is ranked above every number.
pub fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && xs[order[j]] == xs[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) share the average of ranks i+1..=j.
        let avg = (i + 1 + j) as f64 / 2.0;
        for &o in &order[i..j] {
            ranks[o] = avg;
        }
        i = j;
    }
    ranks
}

/// Pearson correlation of two equally long series; `None` when shorter than 2 or
/// when either series is constant (the correlation is undefined).
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx.sqrt() * syy.sqrt()))
}

/// Spearman rank correlation: the Pearson correlation of the average ranks, which
/// is what `scipy.stats.spearmanr` computes (ties included).
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() {
        return None;
    }
    pearson(&average_ranks(xs), &average_ranks(ys))
}

/// Cosine similarity computed in f64; 0 when either vector is all zeros (a text
/// or word the model cannot embed).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    ab / (aa.sqrt() * bb.sqrt())
}

/// Fraction of positions where `pred` equals `gold` (0 for empty inputs).
pub fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    let hits = pred.iter().zip(gold).filter(|(p, g)| p == g).count();
    hits as f64 / gold.len() as f64
}

/// SplitMix64: a tiny, seedable, platform-independent generator, so that folds are
/// identical on every machine and with every compiler.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (`n > 0`), by rejection so there is no modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

/// Stratified k-fold assignment: returns `folds[i]` in `0..k` for every item.
///
/// Each class's members are shuffled with `seed` and dealt round-robin to the folds,
/// the dealing position carrying over from one class to the next (classes in
/// ascending label order). Invariants: every item is in exactly one fold; each class
/// has, in every fold, either `floor(n_c/k)` or `ceil(n_c/k)` members; fold sizes
/// differ by at most one; the same labels and seed give the same folds.
pub fn stratified_folds(labels: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let n_classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let mut folds = vec![0; labels.len()];
    let mut pos = 0;
    for members in &mut by_class {
        rng.shuffle(members);
        for &i in members.iter() {
            folds[i] = pos % k;
            pos += 1;
        }
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ranks_average_ties() {
        // Sorted: 1 (rank 1), 2,2 (ranks 2,3 -> 2.5), 5 (rank 4), 7,7,7 (5,6,7 -> 6).
        let r = average_ranks(&[7.0, 2.0, 1.0, 7.0, 5.0, 2.0, 7.0]);
        assert_eq!(r, [6.0, 2.5, 1.0, 6.0, 4.0, 2.5, 6.0]);
    }

    #[test]
    fn spearman_hand_checked() {
        // Monotone but not linear: Spearman is exactly 1, Pearson is not.
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [1.0, 4.0, 9.0, 100.0];
        assert!(close(spearman(&x, &y).unwrap(), 1.0));
        assert!(pearson(&x, &y).unwrap() < 0.99);
        assert!(close(spearman(&x, &[4.0, 3.0, 2.0, 1.0]).unwrap(), -1.0));
        // With ties: x ranks [1,2,3,4,5], y = [1,2,2,3,1] ranks [1.5,3.5,3.5,5,1.5].
        // Pearson of those ranks: cov = sum dx*dy with dx = [-2,-1,0,1,2],
        // dy = [-1.5,0.5,0.5,2,-1.5] -> 3 - 0.5 + 0 + 2 - 3 = 1.5;
        // sum dx^2 = 10, sum dy^2 = 2.25+0.25+0.25+4+2.25 = 9 -> 1.5/sqrt(90).
        let s = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 2.0, 2.0, 3.0, 1.0]).unwrap();
        assert!(close(s, 1.5 / 90f64.sqrt()), "{s}");
        // scipy.stats.spearmanr([1,2,3,4,5],[1,2,2,3,1]).statistic = 0.15811388300841897
        assert!((s - 0.158_113_883_008_418_97).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0], &[1.0]), None);
    }

    #[test]
    fn cosine_and_accuracy() {
        assert!(close(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0));
        assert!(close(cosine(&[1.0, 1.0], &[2.0, 2.0]), 1.0));
        assert!(close(cosine(&[3.0, 4.0], &[4.0, 3.0]), 24.0 / 25.0));
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
        assert!(close(accuracy(&[0, 1, 2, 1], &[0, 1, 1, 1]), 0.75));
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    #[test]
    fn stratified_folds_balanced_disjoint_deterministic() {
        // 23 of class 0, 7 of class 1, 10 of class 2, interleaved.
        let labels: Vec<usize> = (0..40)
            .map(|i| match i % 4 {
                0 | 1 if i < 30 => 0,
                2 if i < 30 => 1,
                _ => 2,
            })
            .collect();
        let counts = |c| labels.iter().filter(|&&l| l == c).count();
        let k = 5;
        let f = stratified_folds(&labels, k, 42);
        assert_eq!(f.len(), labels.len());
        assert!(f.iter().all(|&x| x < k));
        for c in 0..3 {
            let n_c = counts(c);
            for fold in 0..k {
                let m = (0..labels.len())
                    .filter(|&i| labels[i] == c && f[i] == fold)
                    .count();
                assert!(
                    m == n_c / k || m == n_c.div_ceil(k),
                    "class {c} fold {fold}: {m}"
                );
            }
        }
        let sizes: Vec<usize> = (0..k)
            .map(|j| f.iter().filter(|&&x| x == j).count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        assert_eq!(f, stratified_folds(&labels, k, 42));
        assert_ne!(f, stratified_folds(&labels, k, 43));
    }

    #[test]
    fn splitmix_reference_values() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
