import ArgumentParser
import BotCommands

BotCommand.main()
