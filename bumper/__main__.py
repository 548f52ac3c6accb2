from bumper.entry import main

main()
