//! Idempotency by merchant number, the platform's way (douyin.md §3): the first answer
//! given for an `out_refund_no` or `out_settle_no` is the answer for every later call
//! with that number, whatever its other parameters say. A first call that failed
//! therefore keeps failing: the client has to use a new number.

use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct FirstAnswers {
    answers: HashMap<String, Value>,
}

impl FirstAnswers {
    pub fn get(&self, number: &str) -> Option<Value> {
        self.answers.get(number).cloned()
    }

    /// Keeps `answer` if it is the first for `number`; returns the one that counts.
    pub fn remember(&mut self, number: &str, answer: Value) -> Value {
        self.answers.entry(number.to_owned()).or_insert(answer).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_answer_sticks() {
        let mut answers = FirstAnswers::default();
        assert_eq!(answers.get("R1"), None);
        assert_eq!(answers.remember("R1", json!({"err_no": 2010})), json!({"err_no": 2010}));
        assert_eq!(answers.remember("R1", json!({"err_no": 0})), json!({"err_no": 2010}));
        assert_eq!(answers.get("R1"), Some(json!({"err_no": 2010})));
    }
}
