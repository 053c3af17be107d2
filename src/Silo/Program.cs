using OrleansLlm.Silo.Hosting;

try
{
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions
    {
        Args = args,
        // appsettings.json sits beside the silo's binaries: find it whatever directory the silo is started from.
        ContentRootPath = AppContext.BaseDirectory,
    });
    builder.AddOrleansLlmSilo();

    var app = builder.Build();
    app.MapOrleansLlmEndpoints();
    await app.ConnectRedisAsync();
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (StartupErrors.Describe(ex) is { } error)
{
    // A problem the operator can fix (bad setting, Redis unusable): one line, no stack trace.
    Console.Error.WriteLine($"error: {error}");
    return 1;
}
