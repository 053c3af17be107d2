using OrleansLlm.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddOrleansLlmSilo();

var app = builder.Build();
app.MapOrleansLlmEndpoints();
app.Run();
