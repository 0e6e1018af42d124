-- Neovim's built-in LSP client (0.7+) driving berth-server: what a Neovim user's config does.
-- Reads BERTH_PYTHON, BERTH_WS, BERTH_TEMPLATE, BERTH_OUT; writes what it saw as JSON to BERTH_OUT.
local ws = os.getenv("BERTH_WS")
local template = os.getenv("BERTH_TEMPLATE")
local seen = { statuses = {} }

local function finish()
  local f = io.open(os.getenv("BERTH_OUT"), "w")
  f:write(vim.fn.json_encode(seen))
  f:close()
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  local client_id = vim.lsp.start_client({
    name = "berth",
    cmd = { os.getenv("BERTH_PYTHON"), "-m", "berth.lsp.app" },
    root_dir = ws,
    workspace_folders = { { uri = vim.uri_from_fname(ws), name = "ws" } },
    init_options = { berth = { autoStart = "never" } },
    -- Neovim 0.7 neither pulls workspace/configuration nor pushes settings by itself: the documented
    -- way is to push them from on_init, which exercises Berth's push-style settings path.
    settings = { berth = { template = template } },
    on_init = function(client)
      client.notify("workspace/didChangeConfiguration", { settings = client.config.settings })
    end,
    handlers = {
      ["sandbox/didChangeStatus"] = function(_, status)
        table.insert(seen.statuses, status.state)
      end,
      -- docs/network.md's handler, as a user would paste it (plus what the test records).
      ["sandbox/didBlockRequest"] = function(_, block, ctx)
        seen.block = block
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        local target = (block.port == 80 or block.port == 443) and block.host
          or (block.host .. ":" .. block.port)
        vim.ui.select({ "Allow", "Ignore" }, {
          prompt = block.agent .. " was blocked from " .. block.host .. ":" .. block.port,
        }, function(choice)
          if choice == "Allow" then
            client.request("sandbox/changePolicy", { workspace = block.workspace, allow = { target } },
          function(err) if err then vim.notify(err.message, vim.log.levels.ERROR) end end)
          end
        end)
      end,
    },
  })
  local buf = vim.api.nvim_create_buf(true, false)
  vim.lsp.buf_attach_client(buf, client_id)
  assert(vim.wait(20000, function() return #seen.statuses > 0 end, 20), "no first status")
  local client = vim.lsp.get_client_by_id(client_id)
  local run = client.request_sync("sandbox/run", { agentArgs = { "-c" } }, 60000, buf)
  seen.run = run and (run.result or { error = run.err })
  assert(vim.wait(20000, function() return seen.statuses[#seen.statuses] == "running" end, 20),
    "no running status")
  local listed = client.request_sync("workspace/executeCommand",
    { command = "berthServer.list", arguments = { vim.empty_dict() } }, 20000, buf)
  seen.list = listed and listed.result
  local bad = client.request_sync("sandbox/run", { volumes = { "relative:/x" } }, 20000, buf)
  seen.bad = bad and bad.err
  -- The default policy blocks example.com: the notification comes, the user picks Allow.
  vim.ui.select = function(items, opts, on_choice)
    seen.prompt = opts.prompt
    on_choice(items[1])
  end
  client.request_sync("sandbox/exec",
    { command = { "sh", "-c", "wget -q -O /dev/null http://example.com/ || true" } }, 30000, buf)
  assert(vim.wait(20000, function() return seen.block ~= nil end, 20), "no blocked request")
  assert(vim.wait(20000, function()
    local policy = client.request_sync("sandbox/policy", vim.empty_dict(), 5000, buf)
    seen.policy = policy and policy.result
    return seen.policy and #seen.policy.liveAllow > 0
  end, 100), "the allow rule was not added")
  client.stop()
end)
if not ok then seen.failure = tostring(err) end
finish()
