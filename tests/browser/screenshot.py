"""Take the README's picture of the page: `uv run python -m tests.browser.screenshot docs/page.png`.

The real app (dev mode, an embedded PostgreSQL in a temporary directory), the scripted model
and the browser tests' MCP server, driven through the page in the system Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from mcp.server.transport_security import TransportSecuritySettings
from playwright.sync_api import expect, sync_playwright

from faceplate import migrate
from faceplate.app import create_app
from faceplate.embedded import start_embedded
from tests.browser.support import CHROMIUM_ARGS, chromium_path, page_settings, remember_email_script
from tests.browser.tools_server import build_tools_server
from tests.mcp_client.servers import serve_in_thread
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.live import LiveApp

ANSWER = [
    "The sum is **5**. In Python the same check reads:\n\n",
    "```python\nassert add(2, 3) == 5\n```\n\n",
    "| a | b | a + b |\n|---|---|---|\n| 2 | 3 | 5 |\n",
]


def main(target: Path) -> None:
    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="page-shot-") as tmp:
        url = start_embedded(Path(tmp) / "db", cleanup="delete")
        migrate.apply(url)
        tools = build_tools_server().streamable_http_app(
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
        )
        with ScriptedLLM() as llm, serve_in_thread(tools) as mcp_base:
            settings = page_settings(url, Path(tmp) / "data", llm)
            with LiveApp(create_app(settings)) as live, sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    viewport={"width": 1280, "height": 800}, device_scale_factor=1
                )
                context.add_init_script(remember_email_script("you@example.com"))
                page = context.new_page()
                page.goto(f"{live.http}/#/servers")
                page.get_by_role("button", name="Add server").click()
                form = page.get_by_role("form", name="Add server")
                form.get_by_label("Name", exact=True).fill("Calculator")
                form.get_by_label("URL").fill(f"{mcp_base}/mcp")
                form.get_by_role("button", name="Add", exact=True).click()
                expect(page.locator(".server")).to_be_visible()
                for question, reply in [
                    ("Plan a weekend in Lisbon", "Day one: Alfama and the castle…"),
                    ("Explain keyset pagination", "Instead of OFFSET, remember the last key…"),
                ]:
                    page.get_by_role("link", name="New chat", exact=True).click()
                    llm.reply_text([reply])
                    page.get_by_label("Message").fill(question)
                    page.get_by_label("Message").press("Enter")
                    expect(page.locator(".msg.assistant[data-finish=stop]")).to_be_visible()
                page.get_by_role("link", name="New chat", exact=True).click()
                llm.reply_tool_calls(
                    [ScriptedCall(name="calculator__add", arguments={"a": 2, "b": 3})],
                    text=["Let me add them."],
                )
                llm.reply_text(ANSWER)
                page.get_by_label("Message").fill("What is 2 + 3? Show it in Python.")
                page.get_by_label("Message").press("Enter")
                expect(page.locator(".msg.assistant[data-finish=stop]")).to_be_visible()
                page.locator(".tool-call summary").click()
                page.mouse.move(0, 0)
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target))
                browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/page.png"))
