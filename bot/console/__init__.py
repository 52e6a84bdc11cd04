"""The web console of `mila run`: analytics, tickets and campaigns for marketing and the support lead.

Its own listener (`ADMIN_HOST`/`ADMIN_PORT`), never the webhook port; users and roles from `mila admin`;
sessions, CSRF tokens and the login lockout in Redis (bot.console.auth); pages rendered with Jinja2 through the
project's gettext catalogs (bot.console.app).
"""
