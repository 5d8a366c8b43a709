using LocalAgentService.Bench;
using LocalAgentService.Hosting;

// `-- bench [seconds]` runs the loopback benchmark; anything else starts the service (default http://127.0.0.1:5110).
if (args.Length > 0 && args[0] == "bench")
{
    return await Benchmark.RunAsync(args[1..]);
}

var app = ServiceApp.Build(args, embedded: null);
await app.RunAsync();
return 0;
