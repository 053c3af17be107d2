using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Api;

/// <param name="otherPorts">The silo's other ports (HTTP, silo, gateway, metrics), which the API may not share.</param>
public sealed partial class ApiOptionsValidator(IReadOnlyCollection<int> otherPorts) : IValidateOptions<ApiOptions>
{
    public ApiOptionsValidator()
        : this([])
    {
    }

    public ValidateOptionsResult Validate(string? name, ApiOptions o)
    {
        const string s = ApiOptions.Section;
        var failures = new List<string>();
        if (o.Port is < 1 or > 65535)
        {
            failures.Add($"{s}:{nameof(o.Port)} must be a TCP port (was {o.Port}).");
        }
        else if (o.Enabled && otherPorts.Contains(o.Port))
        {
            failures.Add($"{s}:{nameof(o.Port)} {o.Port} is already the silo's HTTP, silo, gateway or metrics port: give the API a port of its own.");
        }

        if (o.MaxFileBytes < 1)
        {
            failures.Add($"{s}:{nameof(o.MaxFileBytes)} must be positive (was {o.MaxFileBytes}).");
        }

        if (o.MaxRequestsPerBatch < 1)
        {
            failures.Add($"{s}:{nameof(o.MaxRequestsPerBatch)} must be positive (was {o.MaxRequestsPerBatch}).");
        }

        if (o.MaxBatchesInProgressPerKey < 1)
        {
            failures.Add($"{s}:{nameof(o.MaxBatchesInProgressPerKey)} must be positive (was {o.MaxBatchesInProgressPerKey}).");
        }

        if (o.FileTtl <= TimeSpan.Zero || o.SweepInterval <= TimeSpan.Zero)
        {
            failures.Add($"{s}:{nameof(o.FileTtl)} and {s}:{nameof(o.SweepInterval)} must be positive.");
        }

        for (var i = 0; i < o.Keys.Count; i++)
        {
            // The hash is never shown back: a wrong one is named by its place in the list.
            if (!Tenant().IsMatch(o.Keys[i].Tenant ?? string.Empty))
            {
                failures.Add($"{s}:{nameof(o.Keys)}:{i}:{nameof(ApiKeyOptions.Tenant)} must be 1 to 64 letters, digits, '.', '_' or '-'.");
            }

            if (!Sha256().IsMatch(o.Keys[i].Sha256 ?? string.Empty))
            {
                failures.Add($"{s}:{nameof(o.Keys)}:{i}:{nameof(ApiKeyOptions.Sha256)} must be a SHA-256 in 64 hex digits (the key's hash, not the key).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Tenant();

    [GeneratedRegex("^[0-9A-Fa-f]{64}$")]
    private static partial Regex Sha256();
}
