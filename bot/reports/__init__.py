"""Manager reports: periods, exports, the monthly report (figures: `bot.services.figures`)."""
