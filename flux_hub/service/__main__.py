from flux_hub.service.app import main

main()
