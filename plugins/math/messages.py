"""Formula error messages in the site's UI language.

The converter and the plugin's own checks speak English; an author of a Chinese site
reads the error box in Chinese. Each known message is recognised by a pattern whose
groups (the command, the environment, a count) are carried into the translation, so the
message still names what is wrong. A message nobody has translated yet keeps its English
text behind a translated lead-in rather than vanishing.
"""

from __future__ import annotations

import re

# Each pattern matches one English message in full; the templates use its groups.
_PATTERNS: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (
        re.compile(r'Unknown command "(?P<name>\\[^"]*)"'),
        {"zh_Hans": "未知命令 {name}", "zh_Hant": "未知指令 {name}"},
    ),
    (
        re.compile(r'Unknown environment "(?P<name>[^"]*)"'),
        {"zh_Hans": "未知环境 {name}", "zh_Hant": "未知環境 {name}"},
    ),
    (
        re.compile(r'Unknown color "(?P<name>[^"]*)"'),
        {"zh_Hans": "未知颜色 {name}", "zh_Hant": "未知顏色 {name}"},
    ),
    (
        re.compile(r'Expected closing token "(?P<name>[^"]*)", but reached end of input'),
        {"zh_Hans": "缺少结束的 {name}", "zh_Hant": "缺少結束的 {name}"},
    ),
    (
        re.compile(r'Expected "(?P<name>\\end\{[^"]*)".*'),
        {"zh_Hans": "缺少 {name}", "zh_Hant": "缺少 {name}"},
    ),
    (
        re.compile(r'Found "(?P<name>[^"]*)", which may only appear (?P<rest>.*)'),
        {
            "zh_Hans": "{name} 只能用在表格类环境（如 aligned、matrix）中",
            "zh_Hant": "{name} 只能用在表格類環境（如 aligned、matrix）中",
        },
    ),
    (
        re.compile(r"(?P<count>\d+) unclosed '\{' in formula"),
        {
            "zh_Hans": "公式中有 {count} 个 {{ 没有闭合",
            "zh_Hant": "公式中有 {count} 個 {{ 沒有閉合",
        },
    ),
    (
        re.compile(r"(?P<count>\d+) '\}' without a matching '\{' in formula"),
        {
            "zh_Hans": "公式中有 {count} 个 }} 没有对应的 {{",
            "zh_Hant": "公式中有 {count} 個 }} 沒有對應的 {{",
        },
    ),
    (
        re.compile(r"formula is (?P<count>\d+) characters long; the limit is (?P<limit>\d+)"),
        {
            "zh_Hans": "公式长 {count} 个字符，上限为 {limit}",
            "zh_Hant": "公式長 {count} 個字元，上限為 {limit}",
        },
    ),
    (
        re.compile(r"formula nests (?P<count>\d+) levels deep; the limit is (?P<limit>\d+)"),
        {
            "zh_Hans": "公式嵌套 {count} 层，上限为 {limit}",
            "zh_Hant": "公式巢狀 {count} 層，上限為 {limit}",
        },
    ),
    (
        re.compile(r"(?P<name>.*): no equation in this post has this \\label"),
        {
            "zh_Hans": "{name}：本文没有公式带这个 \\label",
            "zh_Hant": "{name}：本文沒有公式帶這個 \\label",
        },
    ),
    (
        re.compile(r"Too many expansions of custom commands.*"),
        {
            "zh_Hans": "自定义命令展开次数过多（命令可能在展开自身）",
            "zh_Hant": "自訂指令展開次數過多（指令可能在展開自身）",
        },
    ),
    (
        re.compile(r"Not valid in text mode(?:: (?P<name>\S+))?"),
        {
            "zh_Hans": "{name} 不能用在 \\text{{}} 里",
            "zh_Hant": "{name} 不能用在 \\text{{}} 裡",
        },
    ),
    (
        re.compile(r"Not valid in math mode(?:: (?P<name>\S+))?"),
        {"zh_Hans": "{name} 不能用在公式里", "zh_Hant": "{name} 不能用在公式裡"},
    ),
    (
        re.compile(r"Math mode within text mode is not implemented yet.*"),
        {
            "zh_Hans": "\\text{{}} 里不能再写公式（$…$）",
            "zh_Hant": "\\text{{}} 裡不能再寫公式（$…$）",
        },
    ),
    (
        re.compile(r"This command is (?P<state>not|already) defined(?:: (?P<name>\S+))?"),
        {"zh_Hans": "{name} {state_zh_Hans}", "zh_Hant": "{name} {state_zh_Hant}"},
    ),
    (
        re.compile(r"the converter produced <(?P<name>[^>]*)>.*"),
        {"zh_Hans": "转换结果含有不允许的 <{name}>", "zh_Hant": "轉換結果含有不允許的 <{name}>"},
    ),
    (
        re.compile(r"site macro table in \[plugins\.math\] is invalid: (?P<rest>.*)"),
        {
            "zh_Hans": "[plugins.math] 的 macros 设置有误：{rest}",
            "zh_Hant": "[plugins.math] 的 macros 設定有誤：{rest}",
        },
    ),
]

_STATES = {
    "zh_Hans": {"not": "没有定义", "already": "已经定义过了"},
    "zh_Hant": {"not": "沒有定義", "already": "已經定義過了"},
}
#: For a message without a translation: what the reader sees before the English text.
_LEAD_IN = {"zh_Hans": "公式无法转换：", "zh_Hant": "公式無法轉換："}
_SCRIPTS = {
    "zh_hans": "zh_Hans",
    "zh_cn": "zh_Hans",
    "zh_sg": "zh_Hans",
    "zh": "zh_Hans",
    "zh_hant": "zh_Hant",
    "zh_tw": "zh_Hant",
    "zh_hk": "zh_Hant",
    "zh_mo": "zh_Hant",
}


def catalog_for(language: str | None) -> str | None:
    """Return the translation set for a UI language tag, or ``None`` for English."""
    if not language:
        return None
    return _SCRIPTS.get(language.replace("-", "_").lower())


def localize(message: str, language: str | None) -> str:
    """Return ``message`` in ``language`` (``zh_Hans``, ``zh-TW``…); English stays as is."""
    catalog = catalog_for(language)
    if catalog is None:
        return message
    return _one(message, catalog)


def _one(message: str, catalog: str) -> str:
    for pattern, templates in _PATTERNS:
        found = pattern.fullmatch(message.strip())
        if found:
            values = {key: value or "" for key, value in found.groupdict().items()}
            values["state_zh_Hans"] = _STATES["zh_Hans"].get(values.get("state", ""), "")
            values["state_zh_Hant"] = _STATES["zh_Hant"].get(values.get("state", ""), "")
            if "name" in values and not values["name"]:
                values["name"] = "此命令" if catalog == "zh_Hans" else "此指令"
            return templates[catalog].format(**values).strip()
    return _LEAD_IN[catalog] + message
