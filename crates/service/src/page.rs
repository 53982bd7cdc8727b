//! Keyset pages: fetch one row more than asked to learn whether another page follows.

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// The keyset position after the last item, when more may follow.
    pub next: Option<K>,
}

/// How many rows to fetch for a page of `limit` items: one more, to learn whether
/// another page follows.
pub(crate) fn fetch(limit: u32) -> i64 {
    i64::from(limit) + 1
}

impl<T, K> Page<T, K> {
    /// The page of `limit` items from `rows` fetched with [`fetch`]; `key` gives
    /// the keyset position of an item, set as `next` when a further row was found.
    pub(crate) fn of(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Self { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_further_row_means_a_next_page() {
        let rows: Vec<u32> = (1..=4).collect();
        assert_eq!(fetch(3), 4);
        assert_eq!(
            Page::of(rows, 3, |n| n * 10),
            Page {
                items: vec![1, 2, 3],
                next: Some(30)
            }
        );
    }

    #[test]
    fn the_last_page_has_no_next() {
        assert_eq!(
            Page::of(vec![1, 2, 3], 3, |n: &u32| *n),
            Page {
                items: vec![1, 2, 3],
                next: None
            }
        );
        assert_eq!(
            Page::of(Vec::<u32>::new(), 3, |n| *n),
            Page {
                items: vec![],
                next: None
            }
        );
    }
}
