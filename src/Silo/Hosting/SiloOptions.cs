using System.Net;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Silo.Hosting;

/// <summary>How this silo joins the cluster. Section <c>Orleans</c>.</summary>
public sealed class OrleansSiloOptions
{
    public const string Section = "Orleans";

    /// <summary>Silo-to-silo port. Default: 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients connect to. Default: 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Clusters sharing one Redis are told apart by this. Default: <c>orleansllm</c>.</summary>
    public string ClusterId { get; set; } = "orleansllm";

    /// <summary>Default: <c>orleansllm</c>.</summary>
    public string ServiceId { get; set; } = "orleansllm";

    /// <summary>Address other silos reach this one at. Default: <c>POD_IP</c> when set (Kubernetes), else 127.0.0.1.</summary>
    public string? AdvertisedIPAddress { get; set; }

    public IPAddress ResolveAdvertisedAddress() =>
        IPAddress.Parse(AdvertisedIPAddress ?? Environment.GetEnvironmentVariable("POD_IP") ?? "127.0.0.1");
}

public sealed class OrleansSiloOptionsValidator : IValidateOptions<OrleansSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansSiloOptions o)
    {
        var failures = new List<string>();
        const string s = OrleansSiloOptions.Section;
        if (o.SiloPort is < 1 or > 65535)
        {
            failures.Add($"{s}:{nameof(o.SiloPort)} must be a TCP port (was {o.SiloPort}).");
        }

        if (o.GatewayPort is < 1 or > 65535 || o.GatewayPort == o.SiloPort)
        {
            failures.Add($"{s}:{nameof(o.GatewayPort)} must be a TCP port other than {nameof(o.SiloPort)} (was {o.GatewayPort}).");
        }

        if (string.IsNullOrWhiteSpace(o.ClusterId) || string.IsNullOrWhiteSpace(o.ServiceId))
        {
            failures.Add($"{s}:{nameof(o.ClusterId)} and {s}:{nameof(o.ServiceId)} are required.");
        }

        if (o.AdvertisedIPAddress is { } ip && !IPAddress.TryParse(ip, out _))
        {
            failures.Add($"{s}:{nameof(o.AdvertisedIPAddress)} must be an IP address (was '{ip}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
