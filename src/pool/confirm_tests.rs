//! Unit tests of the confirmation job's own state: the rejection share warning.

use super::*;

#[test]
fn a_rising_rejection_share_warns() {
    let mut c = Confirmer::new();
    c.outcomes.extend([false; 10]);
    assert_eq!(c.warn_if_rising(), None, "too few to tell");
    c.outcomes.clear();
    c.outcomes.extend([true; 97].into_iter().chain([false; 3]));
    assert_eq!(c.warn_if_rising(), Some(30));
    assert_eq!(c.warn_if_rising(), None, "said once");
    c.outcomes.extend([false; 3]);
    assert_eq!(c.warn_if_rising(), Some(58), "rose by half again");
    c.outcomes.clear();
    c.outcomes.extend([true; 100]);
    assert_eq!(c.warn_if_rising(), None);
    c.outcomes.extend([false; 5]);
    assert_eq!(c.warn_if_rising(), Some(47), "warns again after it fell");
}
