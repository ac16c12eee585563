from duedesk.cli import main

main()
