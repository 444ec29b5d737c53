print("Hello from the Sentinel sandbox:", sum(range(10)))
