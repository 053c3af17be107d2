using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace OllamaSim;

/// <summary>
/// A running simulator: an ASP.NET Core app serving the Ollama API, or the OpenAI-compatible one of vLLM, SGLang and
/// llama.cpp (<see cref="SimulatorOptions.Api"/>), and the /sim control endpoints.
/// Start one in-process with <see cref="StartAsync"/>; the command line uses <see cref="RunAsync"/>.
/// </summary>
public sealed partial class SimulatorServer : IAsyncDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:11434";

    private readonly Simulator _sim;

    // Serialises stop, restart and dispose; requests never wait on it.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);

    /// <summary>The address Kestrel bound (port 0 resolved), to listen on again after a stop.</summary>
    private readonly string _boundAddress;

    private WebApplication? _app;
    private bool _disposed;

    private SimulatorServer(WebApplication app, Simulator sim, string boundAddress)
    {
        _app = app;
        _sim = sim;
        _boundAddress = boundAddress;
        Url = ClientUrl(boundAddress);
    }

    /// <summary>The real bound address (port 0 resolved), e.g. http://127.0.0.1:41234/; the same after a restart.</summary>
    public Uri Url { get; }

    /// <summary>False between <see cref="StopAsync"/> and <see cref="RestartAsync"/>: connections to <see cref="Url"/> are refused.</summary>
    public bool IsListening => Volatile.Read(ref _app) is not null;

    public SimulatorOptions Options => _sim.Options;

    /// <summary>The current fault settings; replace them with <see cref="SetFaults"/> or <see cref="UpdateFaults"/>.</summary>
    public FaultOptions Faults => _sim.Faults.Current;

    public double Speed => _sim.Scheduler.Speed;

    /// <summary>The models the simulator has (as /api/tags lists them), normalised to name:tag.</summary>
    public IReadOnlyList<string> Models => _sim.Models.List().Select(m => m.Name).ToList();

    /// <summary>Starts a simulator listening on <paramref name="url"/> (port 0 picks a free port).</summary>
    public static async Task<SimulatorServer> StartAsync(SimulatorOptions options, string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var sim = new Simulator(options);
        WebApplication? app = null;
        try
        {
            app = Build(sim, [], url);
            await app.StartAsync(cancellationToken);
            var server = new SimulatorServer(app, sim, BoundAddress(app));
            Log.Started(app.Logger, server.Url, options);
            return server;
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            sim.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs until Ctrl+C or <paramref name="cancellationToken"/>. <paramref name="hostArgs"/> go to ASP.NET Core
    /// (e.g. --urls); without --urls or ASPNETCORE_URLS it listens on <see cref="DefaultUrl"/>.
    /// </summary>
    public static async Task RunAsync(SimulatorOptions options, string[] hostArgs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var urlGiven = hostArgs.Any(a => a.StartsWith("--urls", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_URLS"));
        using var sim = new Simulator(options);
        await using var app = Build(sim, hostArgs, urlGiven ? null : DefaultUrl);
        app.Lifetime.ApplicationStarted.Register(() => Log.Started(app.Logger, ClientUrl(BoundAddress(app)), options));
        await app.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Stops listening, like an Ollama process that died: connections to <see cref="Url"/> are refused, requests in
    /// flight or queued are cut off (and counted as failed), and loaded models are unloaded. Everything else (models
    /// pulled or deleted, faults, speed, statistics, the request log) is kept for <see cref="RestartAsync"/>.
    /// Does nothing when already stopped.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopListeningAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Listens again on the same address and port, stopping first if still listening, like a restarted Ollama:
    /// the first request pays the load delay again. Throws if the port was taken meanwhile.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopListeningAsync();
            var app = Build(_sim, [], _boundAddress);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }

            Volatile.Write(ref _app, app);
            Log.Started(app.Logger, Url, _sim.Options);
        }
        finally
        {
            _lifecycle.Release();
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

    /// <summary>
    /// Removes a model, as <c>DELETE /api/delete</c> does: generate and chat then answer 404 and /api/tags no longer
    /// lists it. False when the simulator did not have it.
    /// </summary>
    public bool DeleteModel(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return _sim.Models.Remove(name);
    }

    /// <summary>Adds a model at once, as a finished <c>POST /api/pull</c> does.</summary>
    public void PullModel(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _sim.Models.Add(name);
    }

    /// <summary>
    /// The recent generate, chat and embedding requests as the clients sent them (GET /sim/requests): the last
    /// <paramref name="limit"/> of them (all kept when null) with a sequence above <paramref name="since"/>, oldest first.
    /// </summary>
    public RecordedRequests GetRequests(int? limit = null, long? since = null) => _sim.Requests.Read(limit, since);

    /// <summary>Empties the request log and zeroes its counts (DELETE /sim/requests); sequences keep counting up.</summary>
    public void ClearRequests() => _sim.Requests.Clear();

    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // Cancel hung and queued requests first so the host's graceful shutdown doesn't wait for them.
            _sim.Stop();
            try
            {
                await StopListeningAsync();
            }
            finally
            {
                _sim.Dispose();
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopListeningAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is not { } app)
        {
            return;
        }

        try
        {
            // Stopping the host cancels ApplicationStopping, which every request is linked to (OllamaWire.LinkedAbort).
            await app.StopAsync();
        }
        finally
        {
            await app.DisposeAsync();
            // A dead process loses what it had in memory: the next one loads the model again.
            _sim.Models.Unload();
        }
    }

    private static WebApplication Build(Simulator sim, string[] hostArgs, string? url)
    {
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
        if (sim.Options.Api == SimulatorApi.OpenAI)
        {
            OpenAIEndpoints.Map(app, sim);
        }
        else
        {
            OllamaEndpoints.Map(app, sim);
        }

        SimEndpoints.Map(app, sim);
        return app;
    }

    private static string BoundAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

    private static Uri ClientUrl(string boundAddress)
    {
        var uri = new UriBuilder(boundAddress);
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
