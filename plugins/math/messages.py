"""Formula error messages in the site's UI language.

The converter and the plugin's own checks speak English; an author of a Chinese site
reads the error box in Chinese. Each known message is recognised by a pattern whose
groups (the command, the environment, a count) are carried into the translation, so the
message still names what is wrong. A message nobody has translated yet keeps its English
text behind a translated lead-in rather than vanishing.
"""

from __future__ import annotations

import re

# One row per English message: a pattern matching it in full, then the zh_Hans and the
# zh_Hant template, which use the pattern's named groups. Messages that sometimes name
# the command and sometimes not have a row for each form. The last row matches anything.
_TABLE: tuple[tuple[str, str, str], ...] = (
    (r'Unknown command "(?P<name>\\[^"]*)"', "未知命令 {name}", "未知指令 {name}"),
    (r'Unknown environment "(?P<name>[^"]*)"', "未知环境 {name}", "未知環境 {name}"),
    (r'Unknown color "(?P<name>[^"]*)"', "未知颜色 {name}", "未知顏色 {name}"),
    (
        r'Expected closing token "(?P<name>[^"]*)", but reached end of input',
        "缺少结束的 {name}",
        "缺少結束的 {name}",
    ),
    (r'Expected "(?P<name>\\end\{[^"]*)".*', "缺少 {name}", "缺少 {name}"),
    (
        r'Found "(?P<name>[^"]*)", which may only appear .*',
        "{name} 只能用在表格类环境（如 aligned、matrix）中",
        "{name} 只能用在表格類環境（如 aligned、matrix）中",
    ),
    (
        r"(?P<count>\d+) unclosed '\{' in formula",
        "公式中有 {count} 个 {{ 没有闭合",
        "公式中有 {count} 個 {{ 沒有閉合",
    ),
    (
        r"(?P<count>\d+) '\}' without a matching '\{' in formula",
        "公式中有 {count} 个 }} 没有对应的 {{",
        "公式中有 {count} 個 }} 沒有對應的 {{",
    ),
    (
        r"formula is (?P<count>\d+) characters long; the limit is (?P<limit>\d+)",
        "公式长 {count} 个字符，上限为 {limit}",
        "公式長 {count} 個字元，上限為 {limit}",
    ),
    (
        r"formula nests (?P<count>\d+) levels deep; the limit is (?P<limit>\d+)",
        "公式嵌套 {count} 层，上限为 {limit}",
        "公式巢狀 {count} 層，上限為 {limit}",
    ),
    (
        r"(?P<name>.*): no equation in this post has this \\label",
        "{name}：本文没有公式带这个 \\label",
        "{name}：本文沒有公式帶這個 \\label",
    ),
    (
        r"(?P<name>\\tag\*?\{.*\}): a tag here is plain text; .*",
        "{name}：编号只能是文字，不能含公式（$…$）、命令或花括号",
        "{name}：編號只能是文字，不能含公式（$…$）、指令或大括號",
    ),
    (
        r"Too many expansions of custom commands.*",
        "自定义命令展开次数过多（命令可能在展开自身）",
        "自訂指令展開次數過多（指令可能在展開自身）",
    ),
    (
        r"Not valid in text mode: (?P<name>\S+)",
        "{name} 不能用在 \\text{{}} 里",
        "{name} 不能用在 \\text{{}} 裡",
    ),
    (r"Not valid in text mode", "此命令不能用在 \\text{{}} 里", "此指令不能用在 \\text{{}} 裡"),
    (r"Not valid in math mode: (?P<name>\S+)", "{name} 不能用在公式里", "{name} 不能用在公式裡"),
    (r"Not valid in math mode", "此命令不能用在公式里", "此指令不能用在公式裡"),
    (r"This command is not defined: (?P<name>\S+)", "{name} 没有定义", "{name} 沒有定義"),
    (r"This command is not defined", "此命令没有定义", "此指令沒有定義"),
    (
        r"This command is already defined: (?P<name>\S+)",
        "{name} 已经定义过了",
        "{name} 已經定義過了",
    ),
    (r"This command is already defined", "此命令已经定义过了", "此指令已經定義過了"),
    (
        r"Math mode within text mode is not implemented yet.*",
        "\\text{{}} 里不能再写公式（$…$）",
        "\\text{{}} 裡不能再寫公式（$…$）",
    ),
    (
        r"the converter produced <(?P<name>[^>]*)>.*",
        "转换结果含有不允许的 <{name}>",
        "轉換結果含有不允許的 <{name}>",
    ),
    (
        r"site macro table in \[plugins\.math\] is invalid: (?P<rest>.*)",
        "[plugins.math] 的 macros 设置有误：{rest}",
        "[plugins.math] 的 macros 設定有誤：{rest}",
    ),
    (r"(?P<rest>.*)", "公式无法转换：{rest}", "公式無法轉換：{rest}"),
)
_MESSAGES = [(re.compile(pattern, re.DOTALL), hans, hant) for pattern, hans, hant in _TABLE]

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
    text = message.strip()
    for pattern, hans, hant in _MESSAGES:
        found = pattern.fullmatch(text)
        if found:
            template = hans if catalog == "zh_Hans" else hant
            return template.format(**found.groupdict()).strip()
    raise AssertionError("the last row of the table matches every message")
