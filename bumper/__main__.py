from bumper.cli import main

main()
