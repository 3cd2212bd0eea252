from adgen.cli import main

main()
