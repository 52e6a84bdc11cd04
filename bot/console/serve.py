"""The console on its own listener (`ADMIN_HOST`:`ADMIN_PORT`), for `mila run` and `mila admin serve`."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import App
from bot.console.app import build_console

log = logging.getLogger("mila.console")


def console_url(app: App) -> str:
    admin = app.settings.admin
    host = f"[{admin.host}]" if ":" in admin.host else admin.host
    return f"http://{host}:{admin.port}/login"


async def start_console(app: App) -> web.AppRunner:
    """Listening once this returns; `await runner.cleanup()` stops it. OSError when the port is taken."""
    runner = web.AppRunner(build_console(app), access_log=None, shutdown_timeout=10)
    await runner.setup()
    try:
        await web.TCPSite(runner, app.settings.admin.host, app.settings.admin.port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
