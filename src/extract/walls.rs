//! Walls: pages that stand in front of the article instead of being it. A consent or cookie
//! wall, a paywall teaser, a bot challenge or a login page is recognised here, so that the
//! pipeline judges the feed's own text instead (and `explain` says why) rather than the
//! wall's wording or a teaser's first paragraph.
//!
//! A wall is a short text (what the extractor kept, plus the page's title) with the wording
//! walls use, or markup only walls have (a challenge form, a password field). An article about
//! cookies or paywalls is long, so its wording alone does not make it a wall.

/// The kinds of wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wall {
    /// A cookie or privacy-consent wall.
    Consent,
    /// A paywall's teaser.
    Paywall,
    /// A bot check ("checking your browser", a CAPTCHA).
    Challenge,
    /// A login page.
    Login,
}

impl Wall {
    /// The wall in words, as `explain` shows it ("page was a consent wall").
    pub fn describe(self) -> &'static str {
        match self {
            Wall::Consent => "a consent wall",
            Wall::Paywall => "a paywall teaser",
            Wall::Challenge => "a bot challenge",
            Wall::Login => "a login page",
        }
    }
}

/// Longest text (in words) still taken for a wall on wording alone.
const SHORT: usize = 150;
/// Longest text (in words) a paywall teaser keeps before the wall's wording.
const TEASER: usize = 300;

/// Wording of each kind (matched lower-cased, on the kept text and the page's title), in
/// several languages news sites use.
const CONSENT: &[&str] = &[
    "we value your privacy",
    "we care about your privacy",
    "your privacy choices",
    "manage cookies",
    "manage your cookie",
    "cookie settings",
    "cookie preferences",
    "accept all cookies",
    "accept cookies",
    "reject all",
    "this site uses cookies",
    "this website uses cookies",
    "we use cookies",
    "consent to the use of cookies",
    "before you continue",
    "wir verwenden cookies",
    "alle akzeptieren",
    "nous utilisons des cookies",
    "tout accepter",
    "utilizziamo i cookie",
    "utilizamos cookies",
    "aceptar todas",
];
const PAYWALL: &[&str] = &[
    "subscribe to continue reading",
    "subscribe to keep reading",
    "subscribe to read",
    "to continue reading",
    "continue reading this article",
    "this article is for subscribers",
    "this content is for subscribers",
    "subscribers only",
    "exclusive to subscribers",
    "already a subscriber",
    "already subscribed",
    "start your subscription",
    "unlock this article",
    "read the full article with",
    "become a subscriber",
    "jetzt abonnieren",
    "weiterlesen mit",
    "réservé aux abonnés",
    "riservato agli abbonati",
    "exclusivo para suscriptores",
];
/// Paywall wording strong enough to count anywhere on the page (the extractor drops the wall's
/// box as boilerplate, leaving only the teaser): not "already a subscriber", which many free
/// pages carry in their header.
const PAYWALL_PAGE: &[&str] = &[
    "subscribe to continue reading",
    "subscribe to keep reading",
    "this article is for subscribers",
    "this content is for subscribers",
    "exclusive to subscribers",
    "unlock this article",
    "réservé aux abonnés",
    "riservato agli abbonati",
    "exclusivo para suscriptores",
];
const CHALLENGE: &[&str] = &[
    "checking your browser",
    "checking if the site connection is secure",
    "verify you are human",
    "verifying you are human",
    "are you a robot",
    "are you a human",
    "press & hold",
    "please enable javascript and cookies",
    "enable javascript and cookies to continue",
    "just a moment...",
    "complete the security check",
    "unusual traffic from your computer",
    "access denied",
    "attention required",
];
const LOGIN: &[&str] = &[
    "sign in to continue",
    "log in to continue",
    "login to continue",
    "please sign in",
    "please log in",
    "sign in to your account",
    "log in to your account",
    "forgot your password",
    "forgot password",
];

/// Markup only walls carry (matched lower-cased on the raw page).
const CHALLENGE_MARKUP: &[&str] = &[
    "id=\"challenge-form\"",
    "cf-browser-verification",
    "cf_chl_opt",
    "/cdn-cgi/challenge-platform/",
    "g-recaptcha",
    "h-captcha",
    "px-captcha",
];

/// The wall a page is, if it is one: `text` is what the extractor kept, `title` the page's
/// title, `html` the raw page.
pub fn detect(text: &str, title: Option<&str>, html: &str) -> Option<Wall> {
    // Words counted only as far as the longest wall; a longer text is an article, and most
    // pages are: they cost no lower-casing.
    let words = text.split_whitespace().take(TEASER).count();
    if words >= TEASER {
        return None;
    }
    let lower = format!(
        "{}\n{}",
        title.unwrap_or("").to_lowercase(),
        text.to_lowercase()
    );
    let says = |phrases: &[&str]| phrases.iter().any(|p| lower.contains(p));
    if words < SHORT {
        // Markup is looked for in the first part of the page only, where walls put it (and a
        // long page costs nothing more).
        let mut cut = html.len().min(64 * 1024);
        while !html.is_char_boundary(cut) {
            cut -= 1;
        }
        let head = html[..cut].to_ascii_lowercase();
        if says(CHALLENGE) || CHALLENGE_MARKUP.iter().any(|m| head.contains(m)) {
            return Some(Wall::Challenge);
        }
        if says(LOGIN) || (words < 40 && head.contains("type=\"password\"")) {
            return Some(Wall::Login);
        }
        if says(CONSENT) {
            return Some(Wall::Consent);
        }
    }
    if words < TEASER {
        if says(PAYWALL) {
            return Some(Wall::Paywall);
        }
        if paywall_page().is_some_and(|re| re.is_match(html)) {
            return Some(Wall::Paywall);
        }
    }
    None
}

/// [`PAYWALL_PAGE`] as one case-insensitive pattern, built once: the whole page is searched
/// for it, and lower-casing a long page first cost about 3% of the extraction time.
fn paywall_page() -> Option<&'static regex::Regex> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let alternatives: Vec<String> = PAYWALL_PAGE.iter().map(|p| regex::escape(p)).collect();
        regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_wall() {
        assert_eq!(
            detect(
                "We value your privacy. We and our partners use cookies. Accept all cookies or manage preferences.",
                Some("Before you continue"),
                "<html>"
            ),
            Some(Wall::Consent)
        );
        assert_eq!(
            detect(
                "The port strike entered its third day on Monday as talks stalled. Subscribe to continue reading. Already a subscriber? Log in.",
                Some("Port strike enters third day"),
                "<html>"
            ),
            Some(Wall::Paywall)
        );
        assert_eq!(
            detect(
                "",
                Some("Just a moment..."),
                "<html><form id=\"challenge-form\" action=\"/\">"
            ),
            Some(Wall::Challenge)
        );
        assert_eq!(
            detect(
                "Email Password Forgot your password?",
                Some("Sign in"),
                "<input type=\"password\">"
            ),
            Some(Wall::Login)
        );
        assert_eq!(
            detect("Wir verwenden Cookies. Alle akzeptieren.", None, ""),
            Some(Wall::Consent)
        );
    }

    /// A teaser whose wall's wording is only in the markup (a hidden overlay, a script's
    /// string) is a paywall, whatever the case of the wording.
    #[test]
    fn the_paywall_wording_counts_in_the_markup_in_any_case() {
        let teaser = "The port strike entered its third day on Monday as talks stalled.";
        for html in [
            "<div class=\"overlay\">Subscribe To Continue Reading</div>",
            "<p>RÉSERVÉ AUX ABONNÉS</p>",
            "<script>var msg = 'This article is for SUBSCRIBERS';</script>",
        ] {
            assert_eq!(detect(teaser, None, html), Some(Wall::Paywall), "{html}");
        }
        assert_eq!(
            detect(teaser, None, "<p>Subscribe to our newsletter</p>"),
            None
        );
    }

    #[test]
    fn articles_about_cookies_and_paywalls_are_not_walls() {
        let long = "The regulator said the site must let readers reject all cookies as easily as they accept cookies. "
            .repeat(20);
        assert_eq!(
            detect(&long, Some("Regulator fines publisher"), "<html>"),
            None
        );
        let paywall_news = "Publishers said subscribers only content grew. ".repeat(60);
        assert_eq!(detect(&paywall_news, None, ""), None);
        assert_eq!(detect("A short note on the harbour.", None, "<html>"), None);
        // A page whose markup is cut inside a character does not panic.
        let html = format!("{}é", "a".repeat(64 * 1024 - 1));
        assert_eq!(detect("", None, &html), None);
    }
}
