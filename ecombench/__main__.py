from ecombench.cli import main

main()
