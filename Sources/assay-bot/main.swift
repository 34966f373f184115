import BotCommands
import ArgumentParser

BotCommand.main()
