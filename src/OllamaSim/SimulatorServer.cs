using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace OllamaSim;

/// <summary>
/// A running simulator: an ASP.NET Core app serving the Ollama API and /sim control endpoints.
/// Start one in-process with <see cref="StartAsync"/>; the command line uses <see cref="RunAsync"/>.
/// </summary>
public sealed partial class SimulatorServer : IAsyncDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:11434";

    private readonly WebApplication _app;
    private readonly Simulator _sim;

    private SimulatorServer(WebApplication app, Simulator sim, Uri url)
    {
        _app = app;
        _sim = sim;
        Url = url;
    }

    /// <summary>The real bound address (port 0 resolved), e.g. http://127.0.0.1:41234/.</summary>
    public Uri Url { get; }

    public SimulatorOptions Options => _sim.Options;

    /// <summary>The current fault settings; replace them with <see cref="SetFaults"/> or <see cref="UpdateFaults"/>.</summary>
    public FaultOptions Faults => _sim.Faults.Current;

    public double Speed => _sim.Scheduler.Speed;

    /// <summary>Starts a simulator listening on <paramref name="url"/> (port 0 picks a free port).</summary>
    public static async Task<SimulatorServer> StartAsync(SimulatorOptions options, string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (app, sim) = Build(options, [], url);
        try
        {
            await app.StartAsync(cancellationToken);
            var server = new SimulatorServer(app, sim, BoundUrl(app));
            Log.Started(app.Logger, server.Url, options);
            return server;
        }
        catch
        {
            sim.Dispose();
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs until Ctrl+C or <paramref name="cancellationToken"/>. <paramref name="hostArgs"/> go to ASP.NET Core
    /// (e.g. --urls); without --urls or ASPNETCORE_URLS it listens on <see cref="DefaultUrl"/>.
    /// </summary>
    public static async Task RunAsync(SimulatorOptions options, string[] hostArgs, CancellationToken cancellationToken = default)
    {
        var urlGiven = hostArgs.Any(a => a.StartsWith("--urls", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_URLS"));
        var (app, sim) = Build(options, hostArgs, urlGiven ? null : DefaultUrl);
        using (sim)
        {
            await using (app)
            {
                app.Lifetime.ApplicationStarted.Register(() => Log.Started(app.Logger, BoundUrl(app), options));
                await app.RunAsync(cancellationToken);
            }
        }
    }

    /// <summary>Statistics as served by GET /sim/stats.</summary>
    public SimulatorStats GetStats() => _sim.GetStats();

    /// <summary>Zeroes counters, busy-slot seconds and queue waits (POST /sim/reset).</summary>
    public void ResetStats() => _sim.ResetStats();

    public void SetFaults(FaultOptions faults) => _sim.Faults.Set(faults);

    /// <summary>Atomically changes the fault settings, e.g. <c>UpdateFaults(f =&gt; f with { ErrorRate = 1 })</c>.</summary>
    public FaultOptions UpdateFaults(Func<FaultOptions, FaultOptions> change) => _sim.Faults.Update(change);

    /// <summary>Changes the simulated hardware speed from now on (e.g. 1/3 for a backend that slows down 3×).</summary>
    public void SetSpeed(double speed) => _sim.Scheduler.SetSpeed(speed);

    /// <summary>Unloads every model, so the next request waits for the load delay again.</summary>
    public void UnloadModels() => _sim.Models.Unload();

    public async ValueTask DisposeAsync()
    {
        // Cancel hung and queued requests first so the host's graceful shutdown doesn't wait for them.
        _sim.Stop();
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
            _sim.Dispose();
        }
    }

    private static (WebApplication App, Simulator Sim) Build(SimulatorOptions options, string[] hostArgs, string? url)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = hostArgs,
            ApplicationName = typeof(SimulatorServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (url is not null)
        {
            builder.WebHost.UseUrls(url);
        }

        // Per-request logs would flood the console under load; keep the framework to warnings.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var app = builder.Build();
        var sim = new Simulator(options);
        app.Lifetime.ApplicationStopping.Register(sim.Stop);
        OllamaEndpoints.Map(app, sim);
        SimEndpoints.Map(app, sim);
        return (app, sim);
    }

    private static Uri BoundUrl(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var uri = new UriBuilder(addresses.First());
        // Kestrel reports wildcard listeners as +, * or [::]; clients need an address they can connect to.
        if (uri.Host is "+" or "*" or "[::]" or "0.0.0.0")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "OllamaSim listening on {Url} with {Settings}")]
        public static partial void Started(ILogger logger, Uri url, SimulatorOptions settings);
    }
}
