using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using OrleansLlm.Api;
using OrleansLlm.Api.Hosting;
using OrleansLlm.Hosting;
using OrleansLlm.Kubernetes;
using OrleansLlm.Options;
using OrleansLlm.Redis;
using OrleansLlm.Security;
using OrleansLlm.Silo.Batches;
using OrleansLlm.Worker;
using Orleans.Clustering.Redis;

namespace OrleansLlm.Silo.Hosting;

public static class SiloHostingExtensions
{
    /// <summary>
    /// Hosts the OrleansLlm silo in this web application: Redis clustering on the queue's Redis, mutual TLS between
    /// silos and clients when <c>Orleans:Tls:Enabled</c>, the worker, the Orleans Dashboard (without its live log
    /// unless <c>Dashboard:Trace</c>), the batches page, health checks, OpenTelemetry, and a shutdown long enough for the worker to drain.
    /// </summary>
    public static WebApplicationBuilder AddOrleansLlmSilo(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var silo = Bind<OrleansSiloOptions>(config, OrleansSiloOptions.Section, new OrleansSiloOptionsValidator());
        var redis = Bind<RedisOptions>(config, RedisOptions.Section, new RedisOptionsValidator());
        var worker = Bind<WorkerOptions>(config, WorkerOptions.Section, new WorkerOptionsValidator());
        var tls = Bind<ClusterTlsOptions>(config, ClusterTlsOptions.Section, new ClusterTlsOptionsValidator(server: true));
        var dashboard = config.GetSection(SiloDashboardOptions.Section).Get<SiloDashboardOptions>() ?? new SiloDashboardOptions();
        var apiSection = config.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        int[] apiPorts = apiSection.Enabled ? [apiSection.Port] : [];
        var metrics = Bind<SiloMetricsOptions>(config, SiloMetricsOptions.Section, new SiloMetricsOptionsValidator([silo.SiloPort, silo.GatewayPort, .. HttpPorts(config), .. apiPorts]));
        builder.Services.AddSingleton(metrics);
        if (metrics.Port is { } metricsPort)
        {
            ListenAlsoOn(builder, metricsPort);
        }

        int[] otherPorts = [silo.SiloPort, silo.GatewayPort, .. HttpPorts(config), .. metrics.Port is { } m ? [m] : Array.Empty<int>()];
        if (Bind<ApiOptions>(config, ApiOptions.Section, new ApiOptionsValidator(otherPorts)) is { Enabled: true } api)
        {
            ListenAlsoOn(builder, api.Port);
        }

        builder.Services.AddOptions<OrleansSiloOptions>().BindConfiguration(OrleansSiloOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OrleansSiloOptions>, OrleansSiloOptionsValidator>();

        var kubernetes = Bind<KubernetesOptions>(config, KubernetesOptions.Section, new KubernetesOptionsValidator());
        var inKubernetes = kubernetes.IsEnabled(Environment.GetEnvironmentVariable);
        if (inKubernetes)
        {
            CheckClusterIdentity(silo);
        }

        builder.UseOrleans(orleans => orleans.ConfigureSilo(silo, redis, tls, dashboard, inKubernetes ? kubernetes : null));
        builder.AddOrleansLlmApi();

        // Failure detection (probe timeouts, votes) can be tuned under Orleans:Membership, e.g. for tests or small clusters.
        builder.Services.Configure<ClusterMembershipOptions>(config.GetSection($"{OrleansSiloOptions.Section}:Membership"));

        // The host must wait for the drain, plus a little for the rest of the silo to stop.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = worker.DrainTimeout + WorkerOptions.ShutdownMargin);

        builder.Services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("ready", tags: ["ready"]);
        builder.Services.AddOrleansLlmBatchesPage();
        builder.AddOrleansLlmTelemetry();
        return builder;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (the process is alive), <c>/readyz</c> (take work; a JSON body names each check and why it
    /// failed), <c>/drained</c>, the dashboard at <c>/dashboard</c>, the batches page at <c>/batches</c>, <c>/metrics</c>,
    /// and the OpenAI Batch API at <c>/v1</c> on its own port.
    /// </summary>
    public static WebApplication MapOrleansLlmEndpoints(this WebApplication app)
    {
        if (app.Services.GetRequiredService<SiloMetricsOptions>().Port is { } metricsPort)
        {
            // The metrics port answers /metrics and nothing else, and /metrics is answered there alone: the port a
            // NetworkPolicy opens to Prometheus must not also serve the unauthenticated dashboard, drain state or health.
            app.Use((context, next) =>
                (context.Connection.LocalPort == metricsPort) == context.Request.Path.StartsWithSegments(MetricsPath)
                    ? next(context)
                    : Results.NotFound().ExecuteAsync(context));
        }

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = ReadinessResponse.WriteAsync,
        });
        app.MapOrleansDashboard(routePrefix: "/dashboard");
        app.MapOrleansLlmBatchesPage();
        app.MapOrleansLlmMetrics();
        app.MapOrleansLlmApi();

        // 200 once the worker has drained, else 503: for a script or an operator following a drain.
        app.MapGet("/drained", (LocalWorkerState worker) => worker.IsDrained
            ? Results.Text("drained")
            : Results.Text(worker.State?.ToString().ToLowerInvariant() ?? "not started", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/", () => Results.Redirect("/dashboard/"));
        return app;
    }

    /// <summary>
    /// Connects the silo's one Redis connection before the silo starts, so an unreachable Redis or a refused password
    /// stops it with a clear <see cref="RedisUnavailableException"/> rather than deep inside Orleans' start-up.
    /// </summary>
    public static async Task ConnectRedisAsync(this WebApplication app) =>
        await app.Services.GetRequiredService<RedisConnection>().ConnectAsync();

    /// <param name="kubernetes">Orleans' Kubernetes hosting, when the silo runs in a pod; null elsewhere.</param>
    private static void ConfigureSilo(
        this ISiloBuilder orleans, OrleansSiloOptions silo, RedisOptions redis, ClusterTlsOptions tls, SiloDashboardOptions dashboard, KubernetesOptions? kubernetes)
    {
        orleans.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = silo.ClusterId;
            o.ServiceId = silo.ServiceId;
        });
        // Membership shares the silo's one Redis connection with the queue and the grain directory.
        orleans.UseRedisClustering(o => o.ConfigurationOptions = redis.CreateConfiguration());
        orleans.Services.AddOptions<RedisClusteringOptions>().Configure<RedisConnection>(
            (o, connection) => o.CreateMultiplexer = async _ => (await connection.ConnectAsync(), IsShared: true));
        if (kubernetes is not null)
        {
            orleans.UseKubernetesInPod(silo, kubernetes);
        }
        else
        {
            orleans.ConfigureEndpoints(silo.ResolveAdvertisedAddress(), silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: true);
        }

        orleans.UseClusterTls(tls);
        orleans.AddOrleansLlm();
        orleans.AddDashboard(o => o.HideTrace = !dashboard.Trace);
    }

    /// <summary>
    /// Orleans' Kubernetes hosting: the silo is named after its pod (<c>POD_NAME</c>), advertises <c>POD_IP</c>,
    /// takes its cluster and service ids from <c>ORLEANS_CLUSTER_ID</c> and <c>ORLEANS_SERVICE_ID</c>, labels its pod
    /// with them, and declares dead the silos whose pods are deleted. Membership itself stays in Redis.
    /// </summary>
    private static void UseKubernetesInPod(this ISiloBuilder orleans, OrleansSiloOptions silo, KubernetesOptions kubernetes)
    {
        // The address is set here, as Kubernetes hosting would (POD_IP), because Orleans' own default, the first
        // address of the machine's interfaces, runs first and Kubernetes hosting only fills in an unset address. Without
        // POD_IP that default stays, which in a pod is the pod's address. Kubernetes hosting listens on any address.
        orleans.Configure<EndpointOptions>(o =>
        {
            o.SiloPort = silo.SiloPort;
            o.GatewayPort = silo.GatewayPort;
            if ((silo.AdvertisedIPAddress ?? Environment.GetEnvironmentVariable("POD_IP")) is { Length: > 0 } ip)
            {
                o.AdvertisedIPAddress = IPAddress.Parse(ip);
            }
        });
        orleans.UseKubernetesHosting(hosting => hosting.Configure(o => o.GetClientConfiguration = kubernetes.CreateClientConfiguration));
        if (kubernetes.PodDeletionCost)
        {
            orleans.AddKubernetesPodDeletionCost();
        }
    }

    // Kubernetes hosting sets the ids from ORLEANS_CLUSTER_ID and ORLEANS_SERVICE_ID (the pod's orleans/* labels).
    // Clients only know Orleans:ClusterId and Orleans:ServiceId, so the two must agree, or clients find no gateway.
    private static void CheckClusterIdentity(OrleansSiloOptions silo)
    {
        var failures = new List<string>();
        Check("ORLEANS_CLUSTER_ID", $"{OrleansSiloOptions.Section}:{nameof(silo.ClusterId)}", silo.ClusterId);
        Check("ORLEANS_SERVICE_ID", $"{OrleansSiloOptions.Section}:{nameof(silo.ServiceId)}", silo.ServiceId);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(OrleansSiloOptions.Section, typeof(OrleansSiloOptions), failures);
        }

        void Check(string variable, string key, string configured)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value && !string.Equals(value, configured, StringComparison.Ordinal))
            {
                failures.Add($"{variable} is '{value}' but {key} is '{configured}': set both to the same value, clients use {key}.");
            }
        }
    }

    private const string MetricsPath = "/metrics";

    /// <summary>The ports the web host is told to listen on (<c>urls</c> or <c>http_ports</c>), as far as they are numbers.</summary>
    private static IEnumerable<int> HttpPorts(IConfiguration config) =>
        (config[WebHostDefaults.ServerUrlsKey] ?? config[WebHostDefaults.HttpPortsKey] ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(address => address[(address.LastIndexOf(':') + 1)..].TrimEnd('/'))
            .Select(port => int.TryParse(port, out var n) ? n : -1)
            .Where(port => port > 0);

    /// <summary>
    /// Adds <paramref name="port"/> to the addresses the web host listens on, beside those it was given: on the same
    /// host as the first of <c>urls</c> (127.0.0.1 in tests), or on every address as <c>http_ports</c> does (a pod).
    /// </summary>
    private static void ListenAlsoOn(WebApplicationBuilder builder, int port)
    {
        var config = builder.Configuration;
        if (config[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } urls)
        {
            var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/');
            var colon = first.LastIndexOf(':');
            var host = first[(colon + 1)..].All(char.IsAsciiDigit) ? first[..colon] : first;
            builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"{urls};{host}:{port}");
        }
        else if (config[WebHostDefaults.HttpPortsKey] is { Length: > 0 } ports)
        {
            builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, $"{ports};{port}");
        }
        else
        {
            // Kestrel's own default when it is given no address.
            builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, $"http://localhost:5000;http://localhost:{port}");
        }
    }

    // These few settings are needed before the host is built, so they are validated here with the same validators.
    private static T Bind<T>(IConfiguration config, string section, IValidateOptions<T> validator)
        where T : class, new()
    {
        var options = config.GetSection(section).Get<T>() ?? new T();
        var result = validator.Validate(null, options);
        return result.Failed
            ? throw new OptionsValidationException(section, typeof(T), result.Failures)
            : options;
    }
}
