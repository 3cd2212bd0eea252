from adgen.cli import main

if __name__ == "__main__":  # guarded: the job worker is spawned, and spawn imports __main__
    main()
