//! Reading iCalendar documents back, with the `icalendar` crate's parser (independent
//! of the builder the server writes with).

/// One property as read back: name, value (unescaped), parameters.
#[derive(Debug, Clone)]
pub struct Prop {
    /// Its name (`DTSTART`).
    pub name: String,
    /// Its value, unescaped.
    pub value: String,
    /// Its parameters (`TZID`), in order.
    pub params: Vec<(String, String)>,
}

impl Prop {
    /// The value of parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The `VEVENT`s of an iCalendar document, each as its properties in order.
pub fn vevents(text: &str) -> Vec<Vec<Prop>> {
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("a valid VCALENDAR");
    let version: Vec<&str> = calendar
        .properties
        .iter()
        .filter(|p| p.name.as_str() == "VERSION")
        .map(|p| p.val.as_str())
        .collect();
    assert_eq!(version, vec!["2.0"]);
    let prodid: Vec<&str> = calendar
        .properties
        .iter()
        .filter(|p| p.name.as_str() == "PRODID")
        .map(|p| p.val.as_str())
        .collect();
    assert_eq!(prodid, vec!["-//Convene//Convene//EN"], "one PRODID");
    calendar
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .map(|c| {
            c.properties
                .iter()
                .map(|p| Prop {
                    name: p.name.as_str().to_owned(),
                    value: p.val.as_str().to_owned(),
                    params: p
                        .params
                        .iter()
                        .map(|x| {
                            (
                                x.key.as_str().to_owned(),
                                x.val
                                    .as_ref()
                                    .map(|v| v.as_str().to_owned())
                                    .unwrap_or_default(),
                            )
                        })
                        .collect(),
                })
                .collect()
        })
        .collect()
}

/// The one property `name` of a component (asserts there is exactly one).
pub fn one<'a>(props: &'a [Prop], name: &str) -> &'a Prop {
    let found: Vec<&Prop> = props.iter().filter(|p| p.name == name).collect();
    assert_eq!(found.len(), 1, "{name} in {props:?}");
    found[0]
}
