"""The excerpt plugin's settings: the ``[plugins.excerpt]`` table of ``config.toml``."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Placeholders:
    """The words that stand for content an excerpt cannot show."""

    formula: str
    code: str
    image: str
    table: str


@dataclass
class Config:
    """Excerpt length, placeholders and reading-time rates.

    Lengths count characters as readers do: a CJK character is 1, a Latin word counts its
    letters. The ``*_hant`` placeholders are used for posts written in Traditional script
    (``lang = "zh-Hant"``); pages converted to Traditional at request time get theirs from
    the script-variant plugin.
    """

    length: int = 300
    description_length: int = 120
    suffix: str = "..."
    #: The final share of the budget where a cut prefers the end of a sentence.
    sentence_window: float = 0.2
    #: Inline formulas whose TeX source is at most this long are quoted as written.
    inline_math_max: int = 20
    formula_placeholder: str = "[公式]"
    code_placeholder: str = "[代码]"
    image_placeholder: str = "[图片]"
    table_placeholder: str = "[表格]"
    formula_placeholder_hant: str = "[公式]"
    code_placeholder_hant: str = "[代碼]"
    image_placeholder_hant: str = "[圖片]"
    table_placeholder_hant: str = "[表格]"
    cjk_chars_per_minute: int = 300
    latin_words_per_minute: int = 200
    seconds_per_code_block: int = 20
    seconds_per_display_formula: int = 10

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int | float) and value <= 0 and item.name != "sentence_window":
                raise ValueError(f"[plugins.excerpt] {item.name} must be positive, got {value}")
        if not 0 <= self.sentence_window <= 1:
            raise ValueError(
                "[plugins.excerpt] sentence_window must be between 0 and 1, "
                f"got {self.sentence_window}"
            )

    def placeholders(self, lang: str | None) -> Placeholders:
        """Return the placeholders for a post written in ``lang``."""
        if lang == "zh-Hant":
            return Placeholders(
                self.formula_placeholder_hant,
                self.code_placeholder_hant,
                self.image_placeholder_hant,
                self.table_placeholder_hant,
            )
        return Placeholders(
            self.formula_placeholder,
            self.code_placeholder,
            self.image_placeholder,
            self.table_placeholder,
        )
