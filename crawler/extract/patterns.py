"""Text and name patterns for page furniture, shared by the passes before and after readability.

General by construction: they describe kinds of clutter (ad labels, share bars, appeals, wire
credits) in the words many sites and languages use, never one site's markup.
"""

from __future__ import annotations

import re
from functools import lru_cache

AD_LABEL = re.compile(
    r"^\W*(?:advertisements?|advert|ads?|sponsored(?: content)?|paid content|promoted|anzeige|"
    r"werbung|publicit[ée]|publicidad|pubblicit[àa]|reklama|реклама|advertentie|annonse|annons|"
    r"mainos|publicidade|reklam|διαφήμιση|広告|广告|廣告|광고|"
    r"(?:the )?(?:story|article|content) continues (?:below|after)(?: (?:this|the))?(?: advertisement| ad)?|"
    r"(?:advertisement|ad)\W*(?:scroll|continue reading)(?: down)?(?: to continue| below)?(?: with content)?|"
    r"continue reading (?:below|the main story)|scroll to continue(?: with content)?|"
    r"skip (?:advertisement|ad)|close (?:advertisement|ad)|report (?:this )?ad)\W*$",
    re.I,
)

LINK_LEAD = re.compile(
    r"^\W*(?:related(?:\s+[\w']+){0,2}|read more|"
    r"read also|also read|read next|read this next|more reading|see also|more|also|watch|"
    r"listen|recommended|further reading|more on this(?: story)?|more from [^:]{1,40}|"
    r"don't miss|do not miss|trending|popular|top stories|editor's picks?|"
    r"lesen sie auch|lesen sie mehr|mehr zum thema|auch interessant|weiterlesen|"
    r"lire aussi|à lire aussi|a lire aussi|voir aussi|sur le même sujet|"
    r"lee también|leer también|lea también|te puede interesar|más información|"
    r"leia também|leia mais|saiba mais|veja também|leggi anche|potrebbe interessarti|"
    r"lees ook|lees meer|czytaj też|czytaj także|читайте также|смотрите также)\s*[:|>»-]",
    re.I,
)

HEADING_OF_LINKS = re.compile(
    r"^\W*(?:most (?:popular|read|viewed|shared|watched|emailed|commented)|trending(?: now| stories)?|"
    r"popular(?: now| stories| posts)?|related(?: articles?| stories| posts| coverage| content| topics| links)?|"
    r"recommended(?: for you| stories| articles| reading)?|you (?:may|might) also (?:like|enjoy)|"
    r"самые популярные\b.*|популярн\w+\b.*|похожие\b.*|"
    r"more (?:stories|news|from|on|in|like this|articles|to read)\b.*|more\b.{0,30}\b(?:stories|articles|reads?)|"
    r"(?:read|see) (?:more|next|also)|latest(?: news| stories| articles)?|top stories|"
    r"editor'?s? picks?|don'?t miss|what to read next|around the web|elsewhere on the web|"
    r"meistgelesen|beliebt|das könnte sie auch interessieren|mehr zum thema|"
    r"les plus lus|à lire aussi|lo más leído|más leídas|relacionad[oa]s|leggi anche|i più letti|"
    r"mais lidas|veja também|popularne|самое читаемое|читайте также)\W*$",
    re.I,
)

APPEAL = re.compile(
    r"^\W*(?:have a (?:news )?tip|got a (?:news )?tip|do you have a (?:news )?tip|"
    r"send (?:us )?(?:a |your )?(?:news )?tips?|"
    r"sign up (?:for|to)\b|subscribe (?:to|for|now|today)\b|"
    r"get (?:our|the) [\w\s']{0,30}newsletter|"
    r"(?:click|tap) here to (?:subscribe|sign up|read more|download|follow)|"
    r"follow us on|like us on facebook|join (?:us|our) on|"
    r"support (?:our|independent) journalism|please (?:consider )?donat|donate (?:now|today)\b|"
    r"consider (?:donating|a donation|supporting us)|make a donation\b|"
    r"we use cookies|this (?:website|site) uses cookies|"
    r"wir verwenden cookies|nous utilisons (?:des )?cookies|utilizamos cookies|utilizziamo (?:i )?cookie|"
    r"abonnieren sie|jetzt abonnieren|newsletter abonnieren|abonnez-vous|inscrivez-vous|"
    r"suscr[ií]bete|reg[ií]strate|iscriviti|abbonati|assine (?:já|agora)|inscreva-se|"
    r"unterstützen sie (?:uns|unseren journalismus)|soutenez (?:notre|le) journalisme|"
    r"haben sie einen hinweis|vous avez une information|"
    r"view this post on instagram|a post shared by|view (?:this )?(?:tweet|post) on|"
    r"(?:this )?(?:embedded )?content (?:is )?(?:not available|unavailable|from (?:twitter|instagram|facebook|youtube|x))|"
    r"\[?embedded content\]?|loading (?:tweet|twitter|instagram|video|embed)|"
    r"share (?:this|on|via)\b|(?:share|follow|like) (?:us )?on (?:facebook|twitter|whatsapp|instagram|linkedin)|"
    r"to view this content,? (?:please )?(?:enable|accept)|"
    r"(?:please )?enable javascript|(?:this |the )?(?:slideshow|gallery|video|content|feature|page|"
    r"interactive|player|embed)s? requires? javascript|your browser does not support|"
    r"(?:did you )?(?:like|enjoy)(?:d)? this (?:story|article|post)\?|"
    r"if you (?:enjoyed|liked|value|appreciate)d? (?:this|our) (?:article|story|post|journalism|reporting)|"
    r"tell us what you think|leave a (?:comment|reply)|join the (?:discussion|conversation)|"
    r"(?:add|post|write) a comment|comments? (?:are|is) closed|"
    r"\[[a-z_]+\s+[a-z_]+\s*=[^\]]*\])",
    re.I,
)

WIRE_CREDIT = re.compile(
    r"^\W*(?:(?:©|\(c\)|copyright\s*(?:©|\(c\)|\d{4}))\s*(?:\d{4}\s*)?(?:the )?[\w .,&'-]{0,60}"
    r"|[\w .,&'-]{0,60}\ball rights reserved\b"
    r"|this (?:material|article|story) may not be (?:published|reproduced|copied)"
    r"|this (?:document|article|content) is (?:subject to|protected by) copyright"
    r"|our standards\s*:"
    r"|(?:additional )?reporting by [\w .,'&-]{2,200}(?:;|\.|\)|$)"
    r"|(?:editing|edited|writing) by [\w .,'&-]{2,200}(?:;|\.|\)|$)"
    r")",
    re.I,
)

RIGHTS_NOTICE = re.compile(
    r"rights reserved|may not be (?:published|reproduced|copied|redistributed)|"
    r"alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|"
    r"tutti i diritti riservati|todos os direitos reservados",
    re.I,
)

META_LINE = re.compile(
    r"^\W*(?:tags?|tagged(?: with)?|filed (?:under|in)|categor(?:y|ies)|topics?|posted in|"
    r"published (?:by|in)|posted by|schlagw[öo]rter|themen|etiquetas|marcadores|"
    r"mots[- ]cl[ée]s|argomenti|tag)\s*(?P<colon>[:|])?\s",
    re.I,
)

PROMO_ANYWHERE = re.compile(
    r"\bclick(?:ing)? here\b|\b(?:sign up|subscribe)\b.*\b(?:newsletters?|inbox)\b|"
    r"\bnewsletters?\b.*\b(?:sign up|subscribe|inbox)\b",
    re.I,
)

COMMENT_NOTICE = re.compile(
    r"\b(?:comments?|comentários|comentarios|kommentare|commentaires|commenti)\b.{0,80}"
    r"\b(?:moderat\w*|approv\w*|aprovad\w*|spam|closed|fechados|cerrados|geschlossen|fermés)",
    re.I,
)

_MONTHS = (
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july "
    "august september october november december januar februar märz juni juli oktober dezember "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "janeiro fevereiro março maio junho julho setembro outubro novembro dezembro "
    "gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre"
)
DATE_WORDS = frozenset(
    (_MONTHS + " mon tue wed thu fri sat sun monday tuesday wednesday thursday friday saturday "
     "sunday am pm a m p updated published posted modified last on at de del di le the "
     "aktualisiert veröffentlicht publié mis à jour publicado actualizado atualizado pubblicato "
     "aggiornato em um uhr h").split()
)
_DATE_WORD = re.compile(r"[^\W\d_]+")
_TIME_OR_YEAR = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b")


def is_date_line(text: str) -> bool:
    """'Updated: Nov. 20, 2019 1:35 a.m.' and the like: a timestamp standing as its own block."""
    if len(text) > 80 or not _TIME_OR_YEAR.search(text):
        return False
    words = _DATE_WORD.findall(text)
    return all(w.lower() in DATE_WORDS or (w.isupper() and len(w) <= 4) for w in words)


CONTACT_LINE = re.compile(
    r"^\W*(?:e-?mail|write to|reach|contact|follow)\b.{0,160}"
    r"(?:@\w|\bon (?:twitter|facebook|instagram|youtube|tiktok|linkedin|mastodon|threads|bluesky)\b)",
    re.I,
)

PHOTO_CREDIT = re.compile(
    r"getty images|\bap photo\b|shutterstock|\bistock\b|\balamy\b|"
    r"\b(?:afp|epa|reuters|ap|dpa|ansa|efe|xinhua)\s*/|/\s*(?:afp|epa|reuters|ap|dpa|ansa|efe|xinhua)\b|"
    r"^\W*(?:photo|image|picture|credit|foto|bild|source)s?\s*(?:credit)?\s*:",
    re.I,
)

UI_LABEL = re.compile(
    r"^\W*(?:close|share|share this|tweet|email|e-mail|print|save|comments?|\d+ comments?|menu|search|"
    r"loading\.*|play|pause|next|previous|prev|back to top|top|skip|like this|like loading\.*|"
    r"copy link|link copied|expand|collapse|show more|show less|see more|view comments|"
    r"order reprints?|reprints?|print article|print this (?:article|page)|text size|font size|"
    r"subscribe|subscribe now|sign up|sign in|log in|register|donate|"
    r"(?:reading time|read time|lesezeit|temps de lecture|tiempo de lectura|tempo de leitura|"
    r"tempo di lettura)\s*:?\s*\d+\s*\w*|\d+\s*min(?:ute)?s?\.? read|"
    r"(?:image|photo|picture|slide)?\s*\d+\s*(?:of|/)\s*\d+|"
    r"whatsapp|facebook|twitter|pinterest|linkedin|reddit|flipboard|messenger|"
    r"teilen|partager|compartir|condividi|compartilhar|drucken|imprimer|imprimir|schließen|fermer|cerrar)"
    r"(?:\s*[|/·•,]?\s*(?:whatsapp|facebook|twitter|pinterest|pint|linkedin|reddit|email|e-mail|print|"
    r"baixar|download|copy link|share|tweet|messenger|flipboard|telegram))*\W*$",
    re.I,
)

# Microdata properties whose element content is metadata for machines, not prose for readers.
METADATA_ITEMPROPS = frozenset(
    """
    datepublished datecreated datemodified dateupdated keywords mainentityofpage publisher logo
    url name width height value thumbnailurl uploaddate duration embedurl contenturl identifier
    wordcount inlanguage isaccessibleforfree copyrightyear copyrightholder
    """.split()
)

# Class/id words that name page furniture. Matched as whole words after splitting names on
# punctuation and camelCase, so "comments-area" and "shareBar" match but "commentary" does not.
FURNITURE_WORDS = frozenset(
    """
    comment comments commentlist disqus respond
    share shares sharing sharebar sharetools sharebuttons socialshare social sociallinks
    newsletter newsletters subscribe subscription subscriptions signup
    donate donation donations appeal membership
    cookie cookies consent gdpr cmp
    popular mostpopular mostread trending
    related relatedposts recommended recommendations recirc recirculation outbrain taboola zergnet
    ad ads advert adverts advertisement advertising adslot adunit adcontainer adwrapper dfp gpt
    googleads sponsored sponsor promo promos promotion
    sidebar breadcrumb breadcrumbs modal popup
    byline timestamp tags tooltip popover rollover hovercard
    """.split()
)

CONTENT_STRUCTURE = ("pre", "code", "table", "math", "dl", "dd", "dt", "ol", "figcaption", "kbd", "samp")
"""Tags whose structure says article content: code, tables, math, definition and ordered lists,
captions. A rule that judges by class names or link share never removes them (a documentation page
links every identifier in its code blocks; a data table is mostly short cells); only a rule that
names the structure itself (a link-only list) may."""

# The settings vocabulary of media players (caption, quality and speed menus), for labels that
# come through as text when the player's markup is plain divs and spans.
PLAYER_WORDS = frozenset(
    """
    off on default auto normal captions caption closed subtitles subtitle settings setting font
    size color colour background window opacity transparency transparent semi opaque text white
    black red green blue yellow magenta cyan grey gray small medium large larger smaller extra
    edge style none raised depressed uniform drop shadow dropshadow proportional monospace sans
    serif casual script cursive caps quality speed playback hd p fullscreen full screen mute
    unmute volume play pause replay live cc chapters reset restore done close cancel apply
    english español français deutsch
    """.split()
)

FURNITURE_ROLES = frozenset({"navigation", "complementary", "contentinfo", "dialog", "alertdialog", "search"})

NEVER_ARTICLE_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "button", "input", "select", "textarea", "nav", "link", "meta", "dialog", "map", "audio",
    "video", "source", "track",
)

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


def name_words(value: str) -> list[str]:
    """'shareBar comments-area' -> ['share', 'bar', 'comments', 'area']."""
    return _SPLIT.split(_CAMEL.sub(r"\1 \2", value).lower())


@lru_cache(maxsize=8192)
def is_furniture_name(value: str) -> bool:
    return any(word in FURNITURE_WORDS for word in name_words(value))
