using Microsoft.Extensions.Options;

namespace OrleansLlm.Silo.Hosting;

public sealed class SiloMetricsOptionsValidator(IReadOnlyCollection<int> otherPorts) : IValidateOptions<SiloMetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloMetricsOptions options)
    {
        const string s = SiloMetricsOptions.Section;
        return options.Port switch
        {
            null => ValidateOptionsResult.Success,
            < 1 or > 65535 => ValidateOptionsResult.Fail($"{s}:{nameof(options.Port)} must be a TCP port (was {options.Port})."),
            var port when otherPorts.Contains(port.Value) =>
                ValidateOptionsResult.Fail($"{s}:{nameof(options.Port)} {port} is already the silo's HTTP, silo or gateway port: give the metrics a port of their own."),
            _ => ValidateOptionsResult.Success,
        };
    }
}
